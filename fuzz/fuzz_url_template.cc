// Fuzzes URL templates: ParseUrlTemplate, Expand with an arbitrary key, ValidateHttpUrl and
// HostOf (the host gatherd checks egress, host rates and credentials against).
//
// Input: TEMPLATE "\n" KEY. The whole input is also tried as a template (so templates may hold
// any byte, newlines and NULs included), expanded with the same key.
//
// Invariants, for a template that parses:
//  - an expansion holds no control character or NUL (curl refuses them in the template, and the
//    key is percent-encoded), and the key shows up only percent-encoded;
//  - the key cannot move the request to another host: curl's host of Expand(key) is that of
//    Expand("key") ("{key} may not appear in the scheme or host");
//  - HostOf() of an expansion is the host curl will connect to.
#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "fuzz_util.h"
#include "common/url.h"
#include "common/url_template.h"
#include "service/extract/http_url.h"

namespace {

using gather::common::HostOf;
using gather::common::PercentEncode;
using gather::common::UrlTemplate;
using gather::extract::ParseUrlTemplate;
using gather::extract::ValidateHttpUrl;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};

// The host curl parses from `url` (lower-cased, brackets and zone id stripped), or nullopt when
// curl refuses the URL. `url` is passed whole: a NUL would end it early, which the callers rule
// out first.
std::optional<std::string> CurlHost(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> handle(curl_url());
  if (curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  char* raw = nullptr;
  if (curl_url_get(handle.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK || raw == nullptr) {
    return std::nullopt;
  }
  std::string host = absl::AsciiStrToLower(raw);
  curl_free(raw);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

// curl prints IPv6 hosts in canonical form ("[0:0::1]" is "[::1]").
bool SameIpv6(const std::string& a, const std::string& b) {
  in6_addr first, second;
  return inet_pton(AF_INET6, a.c_str(), &first) == 1 &&
         inet_pton(AF_INET6, b.c_str(), &second) == 1 &&
         std::memcmp(&first, &second, sizeof(first)) == 0;
}

bool HasControl(absl::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// HostOf agrees with curl for a URL that ValidateHttpUrl accepted. A zone id ("%25eth0") is kept
// by HostOf and split off by curl: compare without it; IPv6 addresses compare as addresses.
void CheckHostOf(const std::string& url) {
  FUZZ_CHECK(url.find('\0') == std::string::npos, url);
  std::optional<std::string> curl_host = CurlHost(url);
  FUZZ_CHECK(curl_host.has_value(), url);
  std::string ours = HostOf(url);
  size_t zone = ours.find('%');
  if (zone != std::string::npos && ours.find(':') != std::string::npos) ours.resize(zone);
  FUZZ_CHECK(ours == *curl_host || SameIpv6(ours, *curl_host),
             url + "  HostOf=" + HostOf(url) + "  curl=" + *curl_host);
}

void TryTemplate(absl::string_view text, absl::string_view key) {
  auto syntax = UrlTemplate::ParseSyntax(text);  // the CLI's check: never stricter than Parse
  auto tmpl = ParseUrlTemplate(text);
  if (!syntax.ok()) FUZZ_CHECK(syntax.status().code() == absl::StatusCode::kInvalidArgument, text);
  if (!tmpl.ok()) {
    FUZZ_CHECK(tmpl.status().code() == absl::StatusCode::kInvalidArgument, text);
    return;
  }
  FUZZ_CHECK(syntax.ok(), text);
  FUZZ_CHECK(text.find(gather::common::kKeyPlaceholder) != absl::string_view::npos, text);

  std::string probe = tmpl->Expand("key");
  FUZZ_CHECK(ValidateHttpUrl(probe).ok(), probe);
  FUZZ_CHECK(!HasControl(probe), probe);
  CheckHostOf(probe);
  std::optional<std::string> probe_host = CurlHost(probe);

  std::string expanded = tmpl->Expand(key);
  FUZZ_CHECK(!HasControl(expanded), expanded);
  std::string reused = "stale";
  tmpl->ExpandInto(key, reused);
  FUZZ_CHECK(reused == expanded, expanded);

  // Expanding with the encoded key is expanding with a key of only unreserved bytes and "%XX":
  // the result has exactly the template's bytes around the encoded keys.
  std::string encoded = PercentEncode(key);
  for (unsigned char c : encoded) {
    FUZZ_CHECK(absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%' ||
                   absl::ascii_isxdigit(c),
               encoded);
  }
  FUZZ_CHECK(encoded.size() >= key.size() && encoded.size() <= 3 * key.size(), encoded);

  if (std::optional<std::string> host = CurlHost(expanded); host.has_value()) {
    FUZZ_CHECK(*host == *probe_host, std::string(text) + "  key host=" + *host);
    CheckHostOf(expanded);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto [text, key] = gather::fuzz::SplitFirst(input, '\n');
  TryTemplate(text, key);
  if (text.size() != input.size()) TryTemplate(input, key);

  // Any URL ValidateHttpUrl accepts is one whose host HostOf reports as curl sees it.
  std::string url(text);
  if (ValidateHttpUrl(url).ok()) CheckHostOf(url);
  return 0;
}
