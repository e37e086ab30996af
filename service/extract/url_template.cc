#include "service/extract/url_template.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstring>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gather::extract {
namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};

// Whether both are the same IPv6 address (curl writes IPv6 hosts in canonical form).
bool SameIpv6Address(const std::string& a, const std::string& b) {
  in6_addr first, second;
  return inet_pton(AF_INET6, a.c_str(), &first) == 1 &&
         inet_pton(AF_INET6, b.c_str(), &second) == 1 &&
         std::memcmp(&first, &second, sizeof(first)) == 0;
}

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

absl::Status ValidateHttpUrl(absl::string_view url) {
  if (url.empty()) return absl::InvalidArgumentError("URL is empty");
  // curl reads the URL as a C string: it would ignore everything from a NUL on.
  if (absl::StrContains(url, absl::string_view("\0", 1))) {
    return absl::InvalidArgumentError("URL contains a NUL byte");
  }
  std::unique_ptr<CURLU, UrlDeleter> handle(curl_url());
  std::string copy(url);
  if (CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, copy.c_str(), 0); rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid absolute URL (", curl_url_strerror(rc), ")"));
  }
  char* raw = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("URL has no scheme");
  }
  std::unique_ptr<char, CurlStringDeleter> scheme(raw);
  std::string lower = absl::AsciiStrToLower(scheme.get());
  if (lower != "http" && lower != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("scheme must be http or https, not \"", scheme.get(), "\""));
  }
  raw = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK || raw == nullptr ||
      raw[0] == '\0') {
    if (raw) curl_free(raw);
    return absl::InvalidArgumentError("URL has no host");
  }
  std::unique_ptr<char, CurlStringDeleter> curl_host(raw);
  // Egress host rules, host rates and credentials are checked against HostOf(url): it must be the
  // host curl connects to. curl also takes "http:/h" and "http:///h" as host h, and decodes %XX
  // and short IPv4 forms ("127.1") in the host; such URLs are refused.
  std::string host = absl::AsciiStrToLower(curl_host.get());
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // curl keeps the brackets, and the zone id apart
  }
  std::string ours = HostOf(url);
  if (size_t zone = ours.find('%'); zone != std::string::npos && absl::StrContains(ours, ":")) {
    ours.resize(zone);
  }
  if (ours != host && !SameIpv6Address(ours, host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL host is ambiguous (curl reads \"", host, "\")"));
  }
  return absl::OkStatus();
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

absl::StatusOr<UrlTemplate> UrlTemplate::Parse(absl::string_view text) {
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
  if (absl::Status status = ValidateHttpUrl(tmpl.Expand("key")); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("template: ", status.message()));
  }
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
