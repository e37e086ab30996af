// URL templates with "{key}" placeholders: their syntax, and expansion with the key percent-encoded.
// Pure; gatherd adds the check of the URL as libcurl reads it (extract::ParseUrlTemplate).
#ifndef GATHER_COMMON_URL_TEMPLATE_H_
#define GATHER_COMMON_URL_TEMPLATE_H_

#include <string>

#include "absl/strings/string_view.h"
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/text_template.h"

namespace gather::common {

inline constexpr absl::string_view kKeyPlaceholder = "{key}";

// A parsed template: literal pieces between "{key}" placeholders.
class UrlTemplate {
 public:
  // Validates `text`: at least one "{key}", none in the scheme or host part, an http(s) scheme and
  // a host. INVALID_ARGUMENT says what is wrong.
  static absl::StatusOr<UrlTemplate> ParseSyntax(absl::string_view text);

  // Writes the URL for `key` into `out` (cleared first).
  void ExpandInto(absl::string_view key, std::string& out) const;
  std::string Expand(absl::string_view key) const;

 private:
  std::vector<std::string> pieces_;  // pieces_.size() == placeholders + 1
};

// Checks a URL template with "{NAME}" placeholders (common/text_template.h): none in the scheme or
// the host part, an http(s) scheme and a host. A template without placeholders is fine here (a
// request may take its values in the body). INVALID_ARGUMENT says what is wrong.
absl::Status CheckUrlTemplate(absl::string_view text);

}  // namespace gather::common

#endif  // GATHER_COMMON_URL_TEMPLATE_H_
