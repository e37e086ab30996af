// Pieces of http(s) URLs as gatherd and the CLI read them: percent-encoding, the authority and the
// host. Pure functions; the check of a URL as libcurl reads it is gatherd's (extract/http_url.h).
#ifndef GATHER_COMMON_URL_H_
#define GATHER_COMMON_URL_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gather::common {

// Appends `text` to `out` with every byte outside RFC 3986's unreserved set
// (A-Z a-z 0-9 - . _ ~) written as %XX.
void AppendPercentEncoded(absl::string_view text, std::string& out);
std::string PercentEncode(absl::string_view text);

// The authority ("user@host:port") of an absolute URL, or "" when there is no "://".
absl::string_view AuthorityOf(absl::string_view url);

// The host part of an http(s) URL (lower-cased, without port or brackets), or "" if none.
std::string HostOf(absl::string_view url);

}  // namespace gather::common

#endif  // GATHER_COMMON_URL_H_
