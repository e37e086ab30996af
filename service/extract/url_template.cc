#include "service/extract/url_template.h"


#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gather::extract {
namespace {

bool IsUnreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// The authority ("user@host:port") of an absolute URL, or "" when there is no "://".
absl::string_view AuthorityOf(absl::string_view url) {
  size_t start = url.find("://");
  if (start == absl::string_view::npos) return {};
  start += 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(start, end == absl::string_view::npos ? absl::string_view::npos : end - start);
}

}  // namespace

void AppendPercentEncoded(absl::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

std::string PercentEncode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendPercentEncoded(text, out);
  return out;
}

std::string HostOf(absl::string_view url) {
  absl::string_view authority = AuthorityOf(url);
  if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return absl::AsciiStrToLower(authority.substr(1, close == absl::string_view::npos
                                                         ? absl::string_view::npos
                                                         : close - 1));
  }
  if (size_t colon = authority.find(':'); colon != absl::string_view::npos) {
    authority = authority.substr(0, colon);
  }
  return absl::AsciiStrToLower(authority);
}

absl::StatusOr<UrlTemplate> UrlTemplate::ParseSyntax(absl::string_view text) {
  if (!absl::StrContains(text, kKeyPlaceholder)) {
    return absl::InvalidArgumentError(
        absl::StrCat("template \"", text, "\" has no ", kKeyPlaceholder, " placeholder"));
  }
  size_t scheme_end = text.find("://");
  if (scheme_end != absl::string_view::npos &&
      absl::StrContains(text.substr(0, scheme_end), kKeyPlaceholder)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kKeyPlaceholder, " may not appear in the scheme of the template"));
  }
  if (absl::StrContains(AuthorityOf(text), "{")) {
    return absl::InvalidArgumentError(absl::StrCat(
        kKeyPlaceholder, " may not appear in the host part of the template (", text, ")"));
  }
  UrlTemplate tmpl;
  tmpl.text_ = std::string(text);
  absl::string_view rest = text;
  for (;;) {
    size_t pos = rest.find(kKeyPlaceholder);
    if (pos == absl::string_view::npos) {
      tmpl.pieces_.emplace_back(rest);
      break;
    }
    tmpl.pieces_.emplace_back(rest.substr(0, pos));
    rest.remove_prefix(pos + kKeyPlaceholder.size());
  }
  // The shape of an http(s) URL; ValidateHttpUrl (in Parse) checks the rest as curl reads it.
  if (scheme_end == absl::string_view::npos ||
      !(absl::EqualsIgnoreCase(text.substr(0, scheme_end), "http") ||
        absl::EqualsIgnoreCase(text.substr(0, scheme_end), "https"))) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an absolute http:// or https:// URL (", text, ")"));
  }
  if (HostOf(text).empty()) return absl::InvalidArgumentError("URL has no host");
  return tmpl;
}

void UrlTemplate::ExpandInto(absl::string_view key, std::string& out) const {
  out.clear();
  for (size_t i = 0; i < pieces_.size(); ++i) {
    if (i > 0) AppendPercentEncoded(key, out);
    out.append(pieces_[i]);
  }
}

std::string UrlTemplate::Expand(absl::string_view key) const {
  std::string out;
  out.reserve(text_.size() + key.size() * 3);
  ExpandInto(key, out);
  return out;
}

}  // namespace gather::extract
