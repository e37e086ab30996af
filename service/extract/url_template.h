// URL templates with "{key}" placeholders, key percent-encoding, and http(s) URL validation.
#ifndef GATHER_SERVICE_EXTRACT_URL_TEMPLATE_H_
#define GATHER_SERVICE_EXTRACT_URL_TEMPLATE_H_

#include <string>

#include "absl/strings/string_view.h"
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gather::extract {

inline constexpr absl::string_view kKeyPlaceholder = "{key}";

// Appends `text` to `out` with every byte outside RFC 3986's unreserved set
// (A-Z a-z 0-9 - . _ ~) written as %XX.
void AppendPercentEncoded(absl::string_view text, std::string& out);
std::string PercentEncode(absl::string_view text);

// Checks that `url` is an absolute http:// or https:// URL with a host. INVALID_ARGUMENT says why.
absl::Status ValidateHttpUrl(absl::string_view url);

// The host part of an http(s) URL (lower-cased, without port or brackets), or "" if none.
std::string HostOf(absl::string_view url);

// A parsed template: literal pieces between "{key}" placeholders.
class UrlTemplate {
 public:
  // Validates `text`: at least one "{key}", none in the scheme or host part, and the template is a
  // valid http(s) URL once keys are filled in (ValidateHttpUrl: as libcurl reads it).
  static absl::StatusOr<UrlTemplate> Parse(absl::string_view text);
  // Parse without the libcurl check: placeholders, an http(s) scheme and a host. For callers that
  // leave the full check to gatherd (the CLI, which then needs no libcurl).
  static absl::StatusOr<UrlTemplate> ParseSyntax(absl::string_view text);

  // Writes the URL for `key` into `out` (cleared first).
  void ExpandInto(absl::string_view key, std::string& out) const;
  std::string Expand(absl::string_view key) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::string> pieces_;  // pieces_.size() == placeholders + 1
};

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_URL_TEMPLATE_H_
