// Templates with named placeholders, as users write requests: "{NAME}" where NAME is letters,
// digits and '_' stands for the value of column NAME of a row; every other brace is literal text
// (so a JSON body needs no escaping). Each place a template is used escapes values its own way:
// percent-encoding in URLs and form bodies, JSON string escaping in JSON bodies (no quotes added:
// the template writes them where it wants a string), nothing in header values (which may not
// hold CR, LF or NUL). Pure; shared by gatherd (expansion) and the CLI (checks before a run).
#ifndef GATHER_COMMON_TEXT_TEMPLATE_H_
#define GATHER_COMMON_TEXT_TEMPLATE_H_

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace gather::common {

enum class Escape {
  kPercent,  // RFC 3986 unreserved bytes stay, every other byte is %XX (URLs, form bodies)
  kJson,     // as inside a JSON string literal
  kNone,     // as is; CR, LF and NUL are refused (header values)
  kRaw,      // as is (bodies of other content types)
};

// One input row: column name -> value. A plain key is the row {"key": KEY}.
class Row {
 public:
  Row() = default;
  explicit Row(std::vector<std::pair<std::string, std::string>> columns)
      : columns_(std::move(columns)) {}
  Row(std::initializer_list<std::pair<std::string, std::string>> columns) : columns_(columns) {}
  static Row OfKey(std::string key) {
    return Row(std::vector<std::pair<std::string, std::string>>{{"key", std::move(key)}});
  }

  // The value of `name`, or null when the row has no such column (the first one if repeated).
  const std::string* Find(absl::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& columns() const { return columns_; }

 private:
  std::vector<std::pair<std::string, std::string>> columns_;
};

class TextTemplate {
 public:
  // Never fails: text without placeholders is a template that expands to itself.
  static TextTemplate Parse(absl::string_view text);

  // The placeholders' names, each once, in order of first use.
  const std::vector<std::string>& names() const { return names_; }
  bool empty() const { return literals_.size() == 1 && literals_[0].empty(); }
  // The literal text before the first placeholder (all of it when there is none).
  const std::string& prefix() const { return literals_.front(); }

  // Writes the template with `row`'s values into `out` (cleared first). INVALID_ARGUMENT naming
  // the column when the row lacks one, or (kNone) when a value holds CR, LF or NUL.
  absl::Status ExpandInto(const Row& row, Escape escape, std::string& out) const;
  // The same with a column lookup (null: no such column), for rows not held as a Row.
  absl::Status ExpandInto(absl::FunctionRef<const std::string*(absl::string_view)> lookup,
                          Escape escape, std::string& out) const;
  // The same with `probe` for every placeholder, unescaped: the shape of any expansion (checks of
  // a template's syntax before any row).
  std::string ExpandWith(absl::string_view probe) const;

 private:
  std::vector<std::string> literals_;  // literals_.size() == slots_.size() + 1
  std::vector<size_t> slots_;          // index into names_ of each placeholder, in order
  std::vector<std::string> names_;
};

}  // namespace gather::common

#endif  // GATHER_COMMON_TEXT_TEMPLATE_H_
