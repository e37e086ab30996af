#include "common/json_pointer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gather::common {

absl::StatusOr<JsonPointer> ParseJsonPointer(absl::string_view text) {
  JsonPointer pointer;
  pointer.text = std::string(text);
  if (text.empty()) return pointer;
  if (text.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON pointer \"", text, "\" must be empty or start with \"/\""));
  }
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      pointer.tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    char c = text[i];
    if (c == '~') {
      if (i + 1 >= text.size() || (text[i + 1] != '0' && text[i + 1] != '1')) {
        return absl::InvalidArgumentError(absl::StrCat(
            "JSON pointer \"", text, "\" has \"~\" not followed by \"0\" or \"1\" at offset ", i));
      }
      token.push_back(text[i + 1] == '0' ? '~' : '/');
      ++i;
      continue;
    }
    token.push_back(c);
  }
  return pointer;
}

}  // namespace gather::common
