#include "service/fetch/redirect.h"

#include <curl/curl.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/fetch/curl_handles.h"

namespace gather::fetch {
namespace {

struct Origin {
  std::string scheme, host, port;
  bool operator==(const Origin&) const = default;
};

absl::StatusOr<Origin> OriginOf(absl::string_view url) {
  UrlHandle handle(curl_url());
  if (!handle) return absl::ResourceExhaustedError("out of memory");
  std::string text(url);
  if (curl_url_set(handle.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("not a URL");
  }
  Origin origin;
  auto part = [&](CURLUPart which, unsigned flags, std::string* out) {
    char* value = nullptr;
    if (curl_url_get(handle.get(), which, &value, flags) != CURLUE_OK) return false;
    *out = absl::AsciiStrToLower(value);
    curl_free(value);
    return true;
  };
  if (!part(CURLUPART_SCHEME, 0, &origin.scheme) || !part(CURLUPART_HOST, 0, &origin.host) ||
      !part(CURLUPART_PORT, CURLU_DEFAULT_PORT, &origin.port)) {
    return absl::InvalidArgumentError("not an absolute URL");
  }
  return origin;
}

}  // namespace

bool IsRedirectSafeHeader(absl::string_view name) {
  for (absl::string_view safe :
       {"accept", "accept-language", "content-language", "content-type", "user-agent"}) {
    if (absl::EqualsIgnoreCase(name, safe)) return true;
  }
  return false;
}

bool IsFollowedRedirect(int http_status) {
  return http_status == 301 || http_status == 302 || http_status == 303 || http_status == 307 ||
         http_status == 308;
}

absl::StatusOr<RedirectHop> NextHop(absl::string_view from, absl::string_view location) {
  absl::StatusOr<Origin> to = OriginOf(location);
  if (!to.ok() || (to->scheme != "http" && to->scheme != "https")) {
    return absl::InvalidArgumentError(
        absl::StrCat("redirect to a URL that is not http or https: ", location.substr(0, 200)));
  }
  absl::StatusOr<Origin> here = OriginOf(from);
  RedirectHop hop;
  hop.url = std::string(location);
  hop.same_origin = here.ok() && *here == *to;
  return hop;
}

}  // namespace gather::fetch
