#include "service/extract/fields.h"

#include "absl/strings/str_cat.h"

namespace gather::extract {
namespace {

// Trims the whitespace simdjson leaves after a raw token.
std::string_view TrimRight(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Whether `pointer` is "" on a scalar document ("42", "null"): at_pointer("") cannot hand such a
// document out as a value, so it is read from the document itself.
bool IsScalarDocument(simdjson::ondemand::document& doc, const JsonPointer& pointer) {
  if (!pointer.text.empty()) return false;
  doc.rewind();
  bool scalar = false;
  return !doc.is_scalar().get(scalar) && scalar;
}

}  // namespace

void ExtractFields(simdjson::ondemand::parser& parser, simdjson::padded_string_view body,
                   const std::vector<FieldSpec>& fields, const std::vector<JsonPointer>& required,
                   ExtractOutcome& out) {
  out.status = ExtractStatus::kBadContent;
  out.error.clear();
  out.values.resize(fields.size());
  for (auto& value : out.values) value.clear();

  simdjson::ondemand::document doc;
  if (auto error = parser.iterate(body).get(doc); error) {
    out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
    return;
  }
  for (const JsonPointer& pointer : required) {
    simdjson::ondemand::json_type type;
    simdjson::error_code error;
    if (IsScalarDocument(doc, pointer)) {
      error = doc.type().get(type);
    } else {
      simdjson::ondemand::value value;
      error = doc.at_pointer(pointer.text).get(value);
      if (!error) error = value.type().get(type);
    }
    if (!error && type == simdjson::ondemand::json_type::null) error = simdjson::NO_SUCH_FIELD;
    if (error) {
      if (ClassifyLookupError(error) == LookupStatus::kAbsent) {
        out.status = ExtractStatus::kMissing;
        out.error = absl::StrCat("required ", pointer.text, " is absent");
      } else {
        out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
      }
      return;
    }
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (IsScalarDocument(doc, fields[i].pointer)) {
      std::string_view raw;
      if (auto error = doc.raw_json_token().get(raw); error) {
        out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
        return;
      }
      out.values[i].assign(TrimRight(raw));
      continue;
    }
    simdjson::ondemand::value value;
    auto error = doc.at_pointer(fields[i].pointer.text).get(value);
    if (error) {
      // A lookup that ran into broken JSON can report an absent index and still leave the
      // document abandoned (simdjson drops its parser; the next at_pointer would dereference
      // null): then the body is not JSON.
      if (ClassifyLookupError(error) == LookupStatus::kAbsent && doc.is_alive()) continue;
      out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
      return;
    }
    std::string_view raw;
    simdjson::ondemand::json_type type;
    if (auto type_error = value.type().get(type); type_error) {
      out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(type_error));
      return;
    }
    simdjson::error_code raw_error;
    if (type == simdjson::ondemand::json_type::object) {
      simdjson::ondemand::object object;
      raw_error = value.get_object().get(object);
      if (!raw_error) raw_error = object.raw_json().get(raw);
    } else if (type == simdjson::ondemand::json_type::array) {
      simdjson::ondemand::array array;
      raw_error = value.get_array().get(array);
      if (!raw_error) raw_error = array.raw_json().get(raw);
    } else {
      raw = value.raw_json_token();
      raw_error = simdjson::SUCCESS;
    }
    if (raw_error) {
      out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(raw_error));
      return;
    }
    out.values[i].assign(TrimRight(raw));
  }
  out.status = ExtractStatus::kOk;
}

}  // namespace gather::extract
