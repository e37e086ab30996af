// http(s) URLs as libcurl reads them: the check gatherd applies to every URL it will fetch, and URL
// templates parsed with that check. Apart from common/ so that code which only parses templates
// (the CLI) does not link libcurl.
#ifndef GATHER_SERVICE_EXTRACT_HTTP_URL_H_
#define GATHER_SERVICE_EXTRACT_HTTP_URL_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/url_template.h"

namespace gather::extract {

// Checks that `url` is an absolute http:// or https:// URL with a host, and that libcurl reads the
// same host as common::HostOf. INVALID_ARGUMENT says why not.
absl::Status ValidateHttpUrl(absl::string_view url);

// common::UrlTemplate::ParseSyntax, then ValidateHttpUrl on the template with a key filled in.
absl::StatusOr<common::UrlTemplate> ParseUrlTemplate(absl::string_view text);

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_HTTP_URL_H_
