// Fuzzes the JSON side of gatherd: RFC 6901 pointer parsing, scoring (ScoreJson with every
// reducer), field extraction (ExtractFields) and ranking (TopN), on arbitrary bodies, the way the
// reactors call them (one reused parser, bodies padded with PadForParse). The extracted values are
// then written as a JSONL row the way the CLI does (AppendJsonlRow), which must stay one line.
//
// Invariants: see the Check* functions; and a body that is valid JSON is never "not JSON".
//
// Input: a spec line, "\n", then the body.
//   spec line: "ROW ACROSS SKIP\tSCORE_POINTER\tFIELD_POINTER\t!REQUIRED_POINTER..."
//   e.g. "mean max 1\t/data\t/labels/0\t!/view_update_every"
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/lookup/row_format.h"
#include "absl/strings/string_view.h"
#include "fuzz_util.h"
#include "service/extract/fields.h"
#include "service/extract/json_pointer.h"
#include "service/extract/rank.h"
#include "service/extract/score.h"

namespace {

using namespace gather::extract;
using gather::common::ParseJsonPointer;
using gather::common::ParseReducer;
using gather::common::ReducerName;
using gather::fuzz::SplitFirst;

// Re-escapes parsed tokens; must give back the pointer text exactly (the parser accepts only
// "~0" and "~1" escapes, so the encoding is unique).
std::string Unparse(const JsonPointer& pointer) {
  std::string out;
  for (const std::string& token : pointer.tokens) {
    out.push_back('/');
    for (char c : token) {
      if (c == '~') {
        out.append("~0");
      } else if (c == '/') {
        out.append("~1");
      } else {
        out.push_back(c);
      }
    }
  }
  return out;
}

bool ParsePointerChecked(absl::string_view text, JsonPointer& out) {
  auto parsed = ParseJsonPointer(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument, text);
    return false;
  }
  FUZZ_CHECK(parsed->text == text, text);
  FUZZ_CHECK(Unparse(*parsed) == text, text);
  out = *std::move(parsed);
  return true;
}

Reducer ReducerOr(absl::string_view name, Reducer fallback) {
  auto parsed = ParseReducer(name);
  if (!parsed.ok()) return fallback;
  // The canonical name parses back to the same reducer.
  auto again = ParseReducer(ReducerName(*parsed));
  FUZZ_CHECK(again.ok() && *again == *parsed, name);
  return *parsed;
}

bool SameScore(const ScoreOutcome& a, const ScoreOutcome& b) {
  if (a.status != b.status || a.error != b.error) return false;
  if (std::isnan(a.score) || std::isnan(b.score)) return std::isnan(a.score) && std::isnan(b.score);
  return a.score == b.score;
}

void CheckScore(const ScoreOutcome& out, const ScoreSpec& spec, absl::string_view body) {
  FUZZ_CHECK((out.status == ScoreStatus::kOk) == out.error.empty(), out.error);
  if (out.status != ScoreStatus::kOk) return;
  if (spec.across_reducer == Reducer::kCount) {
    // Counts rows that had at least one number.
    FUZZ_CHECK(out.score >= 1 && out.score == std::floor(out.score), body);
  }
}

void CheckExtract(const ExtractOutcome& out, const std::vector<FieldSpec>& fields,
                  absl::string_view body) {
  FUZZ_CHECK(out.values.size() == fields.size(), body);
  FUZZ_CHECK((out.status == ExtractStatus::kOk) == out.error.empty(), out.error);
  if (out.status != ExtractStatus::kOk) return;
  for (const std::string& value : out.values) {
    if (value.empty()) continue;
    // Raw JSON text with the whitespace after the token trimmed.
    char last = value.back();
    FUZZ_CHECK(last != ' ' && last != '\n' && last != '\r' && last != '\t', value);
    char first = value.front();
    FUZZ_CHECK(first != ' ' && first != '\n' && first != '\r' && first != '\t', value);
  }
}

// The CLI writes each OK result as one JSON line; resume and every JSONL reader rely on it.
void CheckJsonlRow(const ExtractOutcome& out, const std::vector<FieldSpec>& fields) {
  gather::v1::LookupResult row;
  row.set_seq(41);
  row.set_key("k");
  row.set_status(gather::v1::JOB_STATUS_OK);
  row.set_http_status(200);
  std::vector<std::string> names;
  for (size_t i = 0; i < fields.size(); ++i) {
    names.push_back(fields[i].name);
    row.add_values(out.values[i]);
  }
  std::string line;
  gather::client::AppendJsonlRow(row, names, line);
  FUZZ_CHECK(line.size() >= 2 && line.back() == '\n' && line[line.size() - 2] == '}', line);
  FUZZ_CHECK(line.find('\n') == line.size() - 1, line);
  FUZZ_CHECK(line.rfind("{\"seq\":41,", 0) == 0, line);
}

// TopN over items made of the body's bytes: checks the size and the order it promises.
void CheckTopN(absl::string_view bytes, size_t top_n, bool ascending) {
  std::vector<Scored> items;
  for (size_t i = 0; i + 2 < bytes.size() && items.size() < 64; i += 3) {
    Scored item;
    item.id = std::string(1, static_cast<char>('a' + (bytes[i] & 3)));
    item.url = std::string(1, static_cast<char>('a' + (bytes[i + 1] & 3)));
    auto raw = static_cast<unsigned char>(bytes[i + 2]);
    item.score = raw == 0xff ? INFINITY : raw == 0xfe ? -INFINITY : static_cast<double>(raw) / 4;
    items.push_back(std::move(item));
  }
  auto better = [ascending](const Scored& a, const Scored& b) {
    if (a.score != b.score) return ascending ? a.score < b.score : a.score > b.score;
    if (a.id != b.id) return a.id < b.id;
    return a.url < b.url;
  };
  std::vector<Scored> top = TopN(items, top_n, ascending);
  size_t want = top_n == 0 ? items.size() : std::min(top_n, items.size());
  FUZZ_CHECK(top.size() == want, bytes);
  for (size_t i = 1; i < top.size(); ++i) FUZZ_CHECK(!better(top[i], top[i - 1]), bytes);
  if (!top.empty()) {
    // Nothing left out is better than the last one kept.
    size_t better_than_last = 0;
    for (const Scored& item : items) better_than_last += better(item, top.back()) ? 1 : 0;
    FUZZ_CHECK(better_than_last < top.size(), bytes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static simdjson::ondemand::parser parser;  // like the reactors' per-thread parser
  static ExtractOutcome extract_out;         // reused across calls, as in production
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto [spec_line, body_view] = SplitFirst(input, '\n');

  std::vector<absl::string_view> parts = absl::StrSplit(spec_line, '\t');
  if (parts.empty()) parts.emplace_back();  // StrSplit of a null view gives no pieces
  std::vector<absl::string_view> words = absl::StrSplit(parts[0], ' ');
  ScoreSpec spec;
  spec.row_reducer = ReducerOr(words.size() > 0 ? words[0] : "", Reducer::kMean);
  spec.across_reducer = ReducerOr(words.size() > 1 ? words[1] : "", Reducer::kMean);
  uint32_t skip = 0;
  if (words.size() > 2 && absl::SimpleAtoi(words[2], &skip)) spec.skip_columns = skip;
  bool have_score_pointer = parts.size() > 1 && ParsePointerChecked(parts[1], spec.values);

  std::vector<FieldSpec> fields;
  std::vector<JsonPointer> required;
  for (size_t i = 2; i < parts.size(); ++i) {
    absl::string_view text = parts[i];
    bool is_required = !text.empty() && text.front() == '!';
    if (is_required) text.remove_prefix(1);
    JsonPointer pointer;
    if (!ParsePointerChecked(text, pointer)) continue;
    if (is_required) {
      required.push_back(std::move(pointer));
    } else {
      fields.push_back({"f" + std::to_string(fields.size()), std::move(pointer)});
    }
  }

  std::string body(body_view);  // the engine hands the reactors a std::string body
  if (have_score_pointer) {
    ScoreOutcome first = ScoreJson(parser, PadForParse(body), spec);
    CheckScore(first, spec, body);
    // The reused parser holds no state between documents.
    ScoreOutcome second = ScoreJson(parser, PadForParse(body), spec);
    FUZZ_CHECK(SameScore(first, second), body);
  }
  FUZZ_CHECK(body == body_view, body);  // padding never changes the contents

  ExtractFields(parser, PadForParse(body), fields, required, extract_out);
  CheckExtract(extract_out, fields, body);
  // A body that is valid JSON (simdjson's DOM parser validates all of it) is never "not JSON".
  static simdjson::dom::parser validator;
  simdjson::dom::element root;
  if (!validator.parse(body).get(root)) {
    FUZZ_CHECK(extract_out.status != ExtractStatus::kBadContent, extract_out.error + "  " + body);
    if (have_score_pointer) {
      ScoreOutcome score = ScoreJson(parser, PadForParse(body), spec);
      FUZZ_CHECK(score.error.rfind("body is not JSON", 0) != 0, score.error + "  " + body);
    }
  }
  if (extract_out.status == ExtractStatus::kOk) CheckJsonlRow(extract_out, fields);

  CheckTopN(body_view, spec.skip_columns % 8, spec.row_reducer == Reducer::kMin);
  return 0;
}
