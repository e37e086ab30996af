#include "service/extract/pages.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gather::extract {
namespace {

using simdjson::ondemand::json_type;

absl::string_view TypeName(json_type type) {
  switch (type) {
    case json_type::array: return "an array";
    case json_type::object: return "an object";
    case json_type::number: return "a number";
    case json_type::string: return "a string";
    case json_type::boolean: return "a boolean";
    case json_type::null: return "null";
  }
  return "a value";
}

std::string_view TrimRight(std::string_view text) {
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// The raw JSON text of `value` (objects and arrays whole).
simdjson::error_code RawJson(simdjson::ondemand::value& value, std::string_view& raw) {
  json_type type;
  if (auto error = value.type().get(type); error) return error;
  if (type == json_type::object) {
    simdjson::ondemand::object object;
    if (auto error = value.get_object().get(object); error) return error;
    return object.raw_json().get(raw);
  }
  if (type == json_type::array) {
    simdjson::ondemand::array array;
    if (auto error = value.get_array().get(array); error) return error;
    return array.raw_json().get(raw);
  }
  raw = value.raw_json_token();
  return simdjson::SUCCESS;
}

// Reads the next page's URL or cursor at the spec's pointer. False (with `error`) when the body
// is broken there or the value has the wrong type.
bool ReadNext(simdjson::ondemand::document& doc, const PageSpec& spec,
              std::optional<std::string>& next, std::string& error) {
  const bool url = spec.next == PageSpec::Next::kUrlPointer;
  simdjson::ondemand::value value;
  if (auto code = doc.at_pointer(spec.next_pointer.text).get(value); code) {
    if (ClassifyLookupError(code) == LookupStatus::kAbsent && doc.is_alive()) return true;
    error = absl::StrCat("body is not JSON: ", simdjson::error_message(code));
    return false;
  }
  json_type type;
  if (auto code = value.type().get(type); code) {
    error = absl::StrCat("body is not JSON: ", simdjson::error_message(code));
    return false;
  }
  if (type == json_type::null) return true;
  if (type == json_type::string) {
    std::string_view text;
    if (auto code = value.get_string().get(text); code) {
      error = absl::StrCat("body is not JSON: ", simdjson::error_message(code));
      return false;
    }
    if (!text.empty()) next = std::string(text);
    return true;
  }
  if (type == json_type::number && !url) {
    next = std::string(TrimRight(value.raw_json_token()));
    return true;
  }
  error = absl::StrCat("the next page's ", url ? "URL" : "cursor", " at ", spec.next_pointer.text,
                       " is ", TypeName(type), ", not a string", url ? "" : " or a number");
  return false;
}

// Extracts one row from `json` into `out`; a row lacking a required pointer is counted instead.
bool AddRow(simdjson::ondemand::parser& parser, std::string& json, std::optional<uint32_t> item,
            const std::vector<FieldSpec>& fields, const std::vector<JsonPointer>& required,
            ExtractOutcome& scratch, PageOutcome& out) {
  ExtractFields(parser, PadForParse(json), fields, required, scratch);
  switch (scratch.status) {
    case ExtractStatus::kOk:
      out.rows.push_back(PageRow{item, std::move(scratch.values)});
      scratch.values.clear();
      return true;
    case ExtractStatus::kMissing:
      ++out.filtered;
      return true;
    case ExtractStatus::kBadContent:
      out.error = item ? absl::StrCat("item ", *item, ": ", scratch.error) : scratch.error;
      return false;
  }
  return false;
}

}  // namespace

std::optional<std::string> NextLinkTarget(absl::string_view header) {
  size_t i = 0;
  const size_t n = header.size();
  auto skip_space = [&] {
    while (i < n && (header[i] == ' ' || header[i] == '\t')) ++i;
  };
  while (i < n) {
    skip_space();
    if (i < n && header[i] == ',') {
      ++i;
      continue;
    }
    if (i >= n || header[i] != '<') return std::nullopt;
    size_t close = header.find('>', i + 1);
    if (close == absl::string_view::npos) return std::nullopt;
    absl::string_view target = header.substr(i + 1, close - i - 1);
    i = close + 1;
    bool next = false;
    bool rel_seen = false;
    // Parameters: ; name [= token | quoted-string], up to the ',' that ends this link-value.
    while (true) {
      skip_space();
      if (i >= n || header[i] == ',') break;
      if (header[i] != ';') return std::nullopt;
      ++i;
      skip_space();
      size_t name_start = i;
      while (i < n && header[i] != '=' && header[i] != ';' && header[i] != ',' &&
             header[i] != ' ' && header[i] != '\t') {
        ++i;
      }
      absl::string_view name = header.substr(name_start, i - name_start);
      skip_space();
      std::string value;
      if (i < n && header[i] == '=') {
        ++i;
        skip_space();
        if (i < n && header[i] == '"') {
          ++i;
          while (i < n && header[i] != '"') {
            if (header[i] == '\\' && i + 1 < n) ++i;
            value.push_back(header[i++]);
          }
          if (i >= n) return std::nullopt;  // unterminated quoted-string
          ++i;
        } else {
          size_t start = i;
          while (i < n && header[i] != ';' && header[i] != ',' && header[i] != ' ' &&
                 header[i] != '\t') {
            ++i;
          }
          value = std::string(header.substr(start, i - start));
        }
      }
      // Only the first rel of a link counts (RFC 8288 3.3); it is a space-separated list.
      if (absl::EqualsIgnoreCase(name, "rel") && !rel_seen) {
        rel_seen = true;
        for (absl::string_view type : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
          if (absl::EqualsIgnoreCase(type, "next")) next = true;
        }
      }
    }
    if (next) return std::string(target);
  }
  return std::nullopt;
}

void ReadPage(simdjson::ondemand::parser& parser, std::string& body, const PageSpec& spec,
              const std::vector<FieldSpec>& fields, const std::vector<JsonPointer>& required,
              PageOutcome& out) {
  thread_local ExtractOutcome scratch;
  out.status = ExtractStatus::kBadContent;
  out.error.clear();
  out.rows.clear();
  out.filtered = 0;
  out.next.reset();

  const bool in_body = spec.next == PageSpec::Next::kUrlPointer ||
                       spec.next == PageSpec::Next::kTokenPointer;
  if (!in_body && !spec.items && fields.empty() && required.empty()) {
    out.rows.push_back(PageRow{});  // nothing to read in the body: it need not be JSON
    out.status = ExtractStatus::kOk;
    return;
  }
  std::vector<std::string> elements;
  {
    simdjson::ondemand::document doc;
    if (auto code = parser.iterate(PadForParse(body)).get(doc); code) {
      out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(code));
      return;
    }
    if (in_body && !ReadNext(doc, spec, out.next, out.error)) {
      return;
    }
    if (spec.items) {
      const std::string& pointer = spec.items->text;
      simdjson::ondemand::value value;
      json_type type = json_type::null;
      auto code = doc.at_pointer(pointer).get(value);
      if (!code) code = value.type().get(type);
      if (code || type != json_type::array) {
        if (code && (ClassifyLookupError(code) != LookupStatus::kAbsent || !doc.is_alive())) {
          out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(code));
        } else {
          out.error = absl::StrCat("items: no array at ", pointer.empty() ? "\"\"" : pointer,
                                   " (", code ? "absent" : TypeName(type), ")");
        }
        return;
      }
      simdjson::ondemand::array array;
      if (auto error = value.get_array().get(array); error) {
        out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
        return;
      }
      for (auto element : array) {
        simdjson::ondemand::value item;
        std::string_view raw;
        simdjson::error_code error = element.get(item);
        if (!error) error = RawJson(item, raw);
        if (error) {
          out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
          return;
        }
        elements.emplace_back(TrimRight(raw));
      }
    }
  }
  if (!spec.items) {
    if (!AddRow(parser, body, std::nullopt, fields, required, scratch, out)) return;
  } else {
    for (size_t i = 0; i < elements.size(); ++i) {
      if (!AddRow(parser, elements[i], static_cast<uint32_t>(i), fields, required, scratch, out)) {
        return;
      }
    }
  }
  out.status = ExtractStatus::kOk;
}

}  // namespace gather::extract
