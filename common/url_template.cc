#include "common/url_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/url.h"

namespace gather::common {

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
  // The shape of an http(s) URL; gatherd checks the rest as curl reads it (extract::ParseUrlTemplate).
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
  size_t literal = 0;
  for (const std::string& piece : pieces_) literal += piece.size();
  out.reserve(literal + (pieces_.size() - 1) * key.size() * 3);
  ExpandInto(key, out);
  return out;
}

absl::Status CheckUrlTemplate(absl::string_view text) {
  TextTemplate tmpl = TextTemplate::Parse(text);
  size_t scheme_end = text.find("://");
  // A copy: "?:" between "" and a std::string makes a temporary string.
  const std::string first_name = tmpl.names().empty() ? std::string() : tmpl.names().front();
  if (!tmpl.names().empty() &&
      (scheme_end == absl::string_view::npos || tmpl.prefix().size() < scheme_end + 3)) {
    return absl::InvalidArgumentError(
        absl::StrCat("{", first_name, "} may not appear in the scheme of the template"));
  }
  if (absl::StrContains(AuthorityOf(text), "{")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a placeholder may not appear in the host part of the template (", text, ")"));
  }
  if (scheme_end == absl::string_view::npos ||
      !(absl::EqualsIgnoreCase(text.substr(0, scheme_end), "http") ||
        absl::EqualsIgnoreCase(text.substr(0, scheme_end), "https"))) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an absolute http:// or https:// URL (", text, ")"));
  }
  if (HostOf(text).empty()) return absl::InvalidArgumentError("URL has no host");
  return absl::OkStatus();
}

}  // namespace gather::common
