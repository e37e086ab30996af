#include "common/text_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/json_string.h"
#include "common/url.h"

namespace gather::common {
namespace {

bool IsNameChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The length of the placeholder "{NAME}" at text[at] (at a '{'), or 0 if there is none.
size_t PlaceholderAt(absl::string_view text, size_t at) {
  size_t end = at + 1;
  while (end < text.size() && IsNameChar(text[end])) ++end;
  if (end == at + 1 || end >= text.size() || text[end] != '}') return 0;
  return end + 1 - at;
}

}  // namespace

const std::string* Row::Find(absl::string_view name) const {
  for (const auto& [column, value] : columns_) {
    if (column == name) return &value;
  }
  return nullptr;
}

TextTemplate TextTemplate::Parse(absl::string_view text) {
  TextTemplate tmpl;
  std::string literal;
  for (size_t i = 0; i < text.size();) {
    size_t length = text[i] == '{' ? PlaceholderAt(text, i) : 0;
    if (length == 0) {
      literal.push_back(text[i]);
      ++i;
      continue;
    }
    std::string name(text.substr(i + 1, length - 2));
    size_t slot = 0;
    while (slot < tmpl.names_.size() && tmpl.names_[slot] != name) ++slot;
    if (slot == tmpl.names_.size()) tmpl.names_.push_back(std::move(name));
    tmpl.literals_.push_back(std::move(literal));
    literal.clear();
    tmpl.slots_.push_back(slot);
    i += length;
  }
  tmpl.literals_.push_back(std::move(literal));
  return tmpl;
}

absl::Status TextTemplate::ExpandInto(const Row& row, Escape escape, std::string& out) const {
  return ExpandInto([&row](absl::string_view name) { return row.Find(name); }, escape, out);
}

absl::Status TextTemplate::ExpandInto(
    absl::FunctionRef<const std::string*(absl::string_view)> lookup, Escape escape,
    std::string& out) const {
  out.clear();
  out.append(literals_[0]);
  for (size_t i = 0; i < slots_.size(); ++i) {
    const std::string& name = names_[slots_[i]];
    const std::string* value = lookup(name);
    if (value == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("the row has no column \"", name, "\""));
    }
    switch (escape) {
      case Escape::kPercent:
        AppendPercentEncoded(*value, out);
        break;
      case Escape::kJson:
        AppendJsonEscaped(*value, out);
        break;
      case Escape::kNone:
        if (value->find_first_of("\r\n\0", 0, 3) != std::string::npos) {
          return absl::InvalidArgumentError(
              absl::StrCat("column \"", name, "\" holds CR, LF or NUL, which a header cannot"));
        }
        out.append(*value);
        break;
      case Escape::kRaw:
        out.append(*value);
        break;
    }
    out.append(literals_[i + 1]);
  }
  return absl::OkStatus();
}

std::string TextTemplate::ExpandWith(absl::string_view probe) const {
  std::string out = literals_[0];
  for (size_t i = 0; i < slots_.size(); ++i) absl::StrAppend(&out, probe, literals_[i + 1]);
  return out;
}

}  // namespace gather::common
