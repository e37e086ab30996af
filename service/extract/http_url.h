// http(s) URLs as libcurl reads them: the check gatherd applies to every URL it will fetch, and URL
// templates parsed with that check. Apart from common/ so that code which only parses templates
// (the CLI) does not link libcurl.
#ifndef GATHER_SERVICE_EXTRACT_HTTP_URL_H_
#define GATHER_SERVICE_EXTRACT_HTTP_URL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/url_template.h"

namespace gather::extract {

// Checks that `url` is an absolute http:// or https:// URL with a host, and that libcurl reads the
// same host as common::HostOf. INVALID_ARGUMENT says why not.
absl::Status ValidateHttpUrl(absl::string_view url);

// `reference` (absolute, or relative as in an HTML link or a next-page URL) resolved against
// `base` (RFC 3986 5.2, as libcurl does it), then checked with ValidateHttpUrl. The fragment is
// dropped. INVALID_ARGUMENT says why it is not a URL gatherd can fetch.
absl::StatusOr<std::string> ResolveHttpUrl(absl::string_view base, absl::string_view reference);

// `url` with the query parameter `name` set to `value` (percent-encoded): parameters of that
// name already there are removed, the new one goes last.
absl::StatusOr<std::string> WithQueryParameter(absl::string_view url, absl::string_view name,
                                               absl::string_view value);

// common::UrlTemplate::ParseSyntax, then ValidateHttpUrl on the template with a key filled in.
absl::StatusOr<common::UrlTemplate> ParseUrlTemplate(absl::string_view text);

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_HTTP_URL_H_
