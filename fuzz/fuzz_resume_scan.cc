// Fuzzes `gather lookup --resume`: ScanOutput over an existing output file (JSONL, CSV, or the
// --errors CSV) with arbitrary contents, incl. torn last records, on an in-memory file.
//
// Input: SPEC "\n" FILE, SPEC being "jsonl", "csv" or "errors", then "\t"-separated field names,
// e.g. "csv\tlabel\tcity". FILE is scanned as the existing output file. Then FILE's lines are
// also turned into results (key, values split at "\t", "|" standing for a newline; a leading
// number is the seq), written with the CLI's own writers (AppendJsonlRow, AppendCsvRow, ...)
// plus a torn copy of the last one, and that file is scanned too.
//
// Invariants, arbitrary file (also scanned as a paged output, keys_whole): a dry run leaves the
// file alone; a real run gives the same answer
// and cuts exactly the torn bytes, or leaves the file alone when it refuses it; every seq marked
// is a number written in the file; rows - duplicates == seqs marked. File written by the CLI:
// the scan accepts it, finds every row and exactly their seqs, and cuts exactly the torn copy.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/lookup/resume.h"
#include "client/lookup/row_format.h"
#include "absl/strings/string_view.h"
#include "fuzz_util.h"

namespace {

using namespace gather::client;
using gather::fuzz::MemFile;
namespace v1 = gather::v1;

enum class Kind { kJsonl, kCsvOut, kCsvErrors };

// Every decimal number written in `text` (leading zeros dropped, as SimpleAtoi reads them).
std::set<uint64_t> NumbersIn(absl::string_view text) {
  std::set<uint64_t> out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') {
      ++i;
      continue;
    }
    uint64_t value = 0;
    bool overflow = false;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      uint64_t digit = static_cast<uint64_t>(text[i] - '0');
      if (value > (UINT64_MAX - digit) / 10) overflow = true;
      value = value * 10 + digit;
    }
    if (!overflow) out.insert(value);
  }
  return out;
}

std::string Describe(const absl::StatusOr<ScanResult>& scan) {
  if (!scan.ok()) return scan.status().ToString();
  return "rows=" + std::to_string(scan->rows) + " dup=" + std::to_string(scan->duplicates) +
         " torn=" + std::to_string(scan->torn_bytes) + " header=" +
         std::to_string(scan->has_header);
}

bool SameScan(const absl::StatusOr<ScanResult>& a, const absl::StatusOr<ScanResult>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) return a.status() == b.status();
  return a->rows == b->rows && a->duplicates == b->duplicates && a->torn_bytes == b->torn_bytes &&
         a->has_header == b->has_header;
}

void ScanArbitrary(MemFile& file, absl::string_view content, OutputFormat format,
                   const std::vector<std::string>& header) {
  file.Write(content);
  SeqBitmap dry_done;
  auto dry = ScanOutput(file.path(), format, header, dry_done, /*dry_run=*/true);
  FUZZ_CHECK(file.Read() == content, content);

  SeqBitmap done;
  auto scan = ScanOutput(file.path(), format, header, done);
  FUZZ_CHECK(SameScan(dry, scan), Describe(dry) + " vs " + Describe(scan));
  if (!scan.ok()) {
    FUZZ_CHECK(scan.status().code() == absl::StatusCode::kInvalidArgument, content);
    FUZZ_CHECK(file.Read() == content, content);  // refused: left as it was
    return;
  }
  FUZZ_CHECK(scan->torn_bytes <= content.size(), content);
  size_t kept = content.size() - scan->torn_bytes;
  FUZZ_CHECK(file.Read() == content.substr(0, kept), content);
  FUZZ_CHECK(kept == 0 || content[kept - 1] == '\n', content);
  if (format == OutputFormat::kJsonl) {
    // A line ends a JSONL record: nothing after the last newline is complete.
    FUZZ_CHECK(content.substr(kept).find('\n') == absl::string_view::npos, content);
  }
  FUZZ_CHECK(scan->rows >= scan->duplicates, content);
  FUZZ_CHECK(done.count() == scan->rows - scan->duplicates, content);
  uint64_t marked = 0;
  for (uint64_t number : NumbersIn(content)) marked += done.Test(number) ? 1 : 0;
  FUZZ_CHECK(marked == done.count(), content);  // no seq that is not in the file
  if (format == OutputFormat::kCsv && scan->rows > 0) FUZZ_CHECK(scan->has_header, content);

  // A paged output (keys_whole): the same file, cut back further to the start of its last key,
  // at a line end; the keys marked are some of those above.
  file.Write(content);
  SeqBitmap whole_done;
  auto whole = ScanOutput(file.path(), format, header, whole_done, /*dry_run=*/false,
                          /*keys_whole=*/true);
  FUZZ_CHECK(whole.ok(), content);
  FUZZ_CHECK(whole->torn_bytes >= scan->torn_bytes, content);
  size_t whole_kept = content.size() - whole->torn_bytes;
  FUZZ_CHECK(file.Read() == content.substr(0, whole_kept), content);
  FUZZ_CHECK(whole_kept == 0 || content[whole_kept - 1] == '\n', content);
  FUZZ_CHECK(whole_done.count() <= done.count(), content);
  for (uint64_t number : NumbersIn(content)) {
    if (whole_done.Test(number)) FUZZ_CHECK(done.Test(number), content);
  }
}

v1::LookupResult ResultFrom(absl::string_view line, size_t index, size_t field_count) {
  v1::LookupResult row;
  uint64_t seq = 0;
  size_t digits = 0;
  while (digits < line.size() && digits < 7 && line[digits] >= '0' && line[digits] <= '9') {
    seq = seq * 10 + static_cast<uint64_t>(line[digits] - '0');
    ++digits;
  }
  row.set_seq(digits > 0 ? seq : index);
  std::string text = absl::StrReplaceAll(line, {{"|", "\n"}});
  row.set_key(text);
  static constexpr v1::JobStatus kStatuses[] = {v1::JOB_STATUS_OK, v1::JOB_STATUS_HTTP_ERROR,
                                                v1::JOB_STATUS_MISSING, v1::JOB_STATUS_OK};
  row.set_status(kStatuses[line.size() % 4]);
  row.set_http_status(line.size() % 4 == 1 ? 503 : 200);
  row.set_attempts(static_cast<uint32_t>(line.size() % 5));
  row.set_latency_ms(static_cast<double>(line.size()) * 1.25);
  row.set_queue_ms(0.5);
  if (line.size() % 7 == 3) row.set_shared(true);
  std::vector<absl::string_view> values = absl::StrSplit(line, '\t');
  for (size_t i = 0; i < field_count; ++i) {
    row.add_values(i < values.size() ? absl::StrReplaceAll(values[i], {{"|", "\n"}}) : "");
  }
  if (row.status() != v1::JOB_STATUS_OK) row.set_error(text);
  return row;
}

void AppendRow(Kind kind, const v1::LookupResult& row, const std::vector<std::string>& names,
               std::string& out) {
  switch (kind) {
    case Kind::kJsonl: AppendJsonlRow(row, names, out); break;
    case Kind::kCsvOut: AppendCsvRow(row, names.size(), out); break;
    case Kind::kCsvErrors: AppendCsvErrorRow(row, out); break;
  }
}

void ScanWritten(MemFile& file, absl::string_view content, Kind kind, OutputFormat format,
                 const std::vector<std::string>& names, const std::vector<std::string>& header) {
  std::vector<absl::string_view> lines = absl::StrSplit(content, '\n');
  if (lines.empty()) lines.emplace_back();  // StrSplit of a null view gives no pieces
  std::string written;
  if (kind == Kind::kCsvOut) AppendCsvHeader(names, written);
  if (kind == Kind::kCsvErrors) AppendCsvErrorHeader(written);
  std::set<uint64_t> seqs;
  uint64_t rows = 0;
  for (size_t i = 0; i + 1 < lines.size() && rows < 200; ++i, ++rows) {
    v1::LookupResult row = ResultFrom(lines[i], i, names.size());
    seqs.insert(row.seq());
    AppendRow(kind, row, names, written);
  }
  // The last line, torn: a prefix of its record (none when the prefix is empty).
  std::string last;
  AppendRow(kind, ResultFrom(lines.back(), lines.size() - 1, names.size()), names, last);
  std::string torn = last.substr(0, lines.back().size() % last.size());
  std::string file_content = written + torn;

  file.Write(file_content);
  SeqBitmap done;
  auto scan = ScanOutput(file.path(), format, header, done);
  FUZZ_CHECK(scan.ok(), scan.status().ToString() + "  file: " + file_content);
  FUZZ_CHECK(scan->rows == rows, Describe(scan) + "  file: " + file_content);
  FUZZ_CHECK(scan->duplicates == rows - seqs.size(), file_content);
  FUZZ_CHECK(scan->torn_bytes == torn.size(), Describe(scan) + "  file: " + file_content);
  FUZZ_CHECK(scan->has_header == (format == OutputFormat::kCsv), file_content);
  FUZZ_CHECK(done.count() == seqs.size(), file_content);
  for (uint64_t seq : seqs) FUZZ_CHECK(done.Test(seq), file_content);
  FUZZ_CHECK(file.Read() == written, file_content);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemFile file;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto [spec_line, content] = gather::fuzz::SplitFirst(input, '\n');
  std::vector<std::string> spec = absl::StrSplit(spec_line, '\t');
  if (spec.empty()) spec.emplace_back();
  Kind kind = spec[0] == "csv"      ? Kind::kCsvOut
              : spec[0] == "errors" ? Kind::kCsvErrors
                                    : Kind::kJsonl;
  OutputFormat format = kind == Kind::kJsonl ? OutputFormat::kJsonl : OutputFormat::kCsv;

  // Field names as `gather lookup` accepts them: no "=", not seq or key, no duplicates.
  std::vector<std::string> names;
  for (size_t i = 1; i < spec.size() && names.size() < 8; ++i) {
    const std::string& name = spec[i];
    if (name.empty() || name.find('=') != std::string::npos || name == "seq" || name == "key") {
      continue;
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    names.push_back(name);
  }
  std::vector<std::string> header;
  if (kind == Kind::kCsvOut) {
    header = {"seq", "key"};
    header.insert(header.end(), names.begin(), names.end());
  } else if (kind == Kind::kCsvErrors) {
    header = {"seq", "key", "status", "http_status", "attempts", "error"};
  }

  ScanArbitrary(file, content, format, header);
  ScanWritten(file, content, kind, format, names, header);
  return 0;
}
