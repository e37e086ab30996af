#include "service/extract/http_url.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/url.h"

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

}  // namespace

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
  std::string ours = common::HostOf(url);
  if (size_t zone = ours.find('%'); zone != std::string::npos && absl::StrContains(ours, ":")) {
    ours.resize(zone);
  }
  if (ours != host && !SameIpv6Address(ours, host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("URL host is ambiguous (curl reads \"", host, "\")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveHttpUrl(absl::string_view base, absl::string_view reference) {
  if (absl::StrContains(reference, absl::string_view("\0", 1))) {
    return absl::InvalidArgumentError("URL contains a NUL byte");
  }
  std::unique_ptr<CURLU, UrlDeleter> handle(curl_url());
  std::string text(base);
  if (CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("the base URL is not valid (", curl_url_strerror(rc), ")"));
  }
  text = std::string(reference);
  // Setting a URL on a handle that holds one resolves it as a reference (curl_url_set(3)).
  if (CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid URL (", curl_url_strerror(rc), ")"));
  }
  curl_url_set(handle.get(), CURLUPART_FRAGMENT, nullptr, 0);
  char* raw = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_URL, &raw, 0) != CURLUE_OK || raw == nullptr) {
    return absl::InvalidArgumentError("not a valid URL");
  }
  std::string url(raw);
  curl_free(raw);
  if (absl::Status status = ValidateHttpUrl(url); !status.ok()) return status;
  return url;
}

absl::StatusOr<std::string> WithQueryParameter(absl::string_view url, absl::string_view name,
                                               absl::string_view value) {
  std::unique_ptr<CURLU, UrlDeleter> handle(curl_url());
  std::string text(url);
  if (CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid URL (", curl_url_strerror(rc), ")"));
  }
  std::string query;
  char* raw = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_QUERY, &raw, 0) == CURLUE_OK && raw != nullptr) {
    query = raw;
    curl_free(raw);
  }
  const std::string encoded_name = common::PercentEncode(name);
  std::string rebuilt;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    absl::string_view key = part.substr(0, part.find('='));
    if (key == name || key == encoded_name) continue;
    if (!rebuilt.empty()) rebuilt.push_back('&');
    absl::StrAppend(&rebuilt, part);
  }
  if (!rebuilt.empty()) rebuilt.push_back('&');
  absl::StrAppend(&rebuilt, encoded_name, "=", common::PercentEncode(value));
  if (CURLUcode rc = curl_url_set(handle.get(), CURLUPART_QUERY, rebuilt.c_str(), 0);
      rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot set the query (", curl_url_strerror(rc), ")"));
  }
  raw = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_URL, &raw, 0) != CURLUE_OK || raw == nullptr) {
    return absl::InvalidArgumentError("not a valid URL");
  }
  std::string out(raw);
  curl_free(raw);
  return out;
}

absl::StatusOr<common::UrlTemplate> ParseUrlTemplate(absl::string_view text) {
  absl::StatusOr<common::UrlTemplate> tmpl = common::UrlTemplate::ParseSyntax(text);
  if (!tmpl.ok()) return tmpl;
  if (absl::Status status = ValidateHttpUrl(tmpl->Expand("key")); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("template: ", status.message()));
  }
  return tmpl;
}

}  // namespace gather::extract
