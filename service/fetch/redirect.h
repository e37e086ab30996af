// Redirects the engine follows itself (hop by hop, not with CURLOPT_FOLLOWLOCATION) so it decides
// what each hop carries: to another origin (scheme, host or port) a request keeps only headers
// that carry no credentials (redirect_safe_headers below), unless the caller asked to keep them.
// libcurl and the Fetch standard drop only Authorization and cookies; API keys live in custom
// headers. The egress policy checks every hop at connect time as usual. Pure.
#ifndef GATHER_SERVICE_FETCH_REDIRECT_H_
#define GATHER_SERVICE_FETCH_REDIRECT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gather::fetch {

// The header names kept on a hop to another origin (case-insensitive): Accept,
// Accept-Language, Content-Language, Content-Type and User-Agent.
bool IsRedirectSafeHeader(absl::string_view name);

// Whether an HTTP status asks to follow Location (301, 302, 303, 307, 308).
bool IsFollowedRedirect(int http_status);

struct RedirectHop {
  std::string url;
  bool same_origin = false;  // same scheme, host and port as the URL it leaves
};

// The hop from `from` to `location` (absolute, as libcurl's CURLINFO_REDIRECT_URL gives it).
// INVALID_ARGUMENT when it is not an http or https URL.
absl::StatusOr<RedirectHop> NextHop(absl::string_view from, absl::string_view location);

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_REDIRECT_H_
