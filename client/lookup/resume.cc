#include "client/lookup/resume.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/io/record_reader.h"

namespace gather::client {
namespace {

// Larger ordinals than this are not from a real run (4.3 billion keys). It bounds the bitmap's
// page directory at 512 KiB whatever a damaged or foreign file holds.
constexpr uint64_t kMaxSeq = uint64_t{1} << 32;

bool ParseSeq(absl::string_view text, uint64_t& seq) {
  return !text.empty() && absl::SimpleAtoi(text, &seq) && seq < kMaxSeq;
}

// The seq of a JSONL line: it starts with {"seq":N, as gather writes it.
bool JsonlSeq(absl::string_view line, uint64_t& seq) {
  constexpr absl::string_view kPrefix = "{\"seq\":";
  if (!absl::StartsWith(line, kPrefix) || line.back() != '}') return false;
  line.remove_prefix(kPrefix.size());
  size_t digits = 0;
  while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
  if (digits == line.size() || line[digits] != ',') return false;
  return ParseSeq(line.substr(0, digits), seq);
}

}  // namespace

bool SeqBitmap::Set(uint64_t seq) {
  size_t page = static_cast<size_t>(seq >> kPageBits);
  if (page >= pages_.size()) pages_.resize(page + 1);
  if (pages_[page] == nullptr) pages_[page] = std::make_unique<Page>();  // zeroed
  uint64_t bit = seq & (kPageSeqs - 1);
  uint64_t& word = (*pages_[page])[bit / 64];
  uint64_t mask = uint64_t{1} << (bit % 64);
  if (word & mask) return false;
  word |= mask;
  ++count_;
  return true;
}

absl::StatusOr<ScanResult> ScanOutput(const std::string& path, OutputFormat format,
                                      const std::vector<std::string>& csv_header,
                                      SeqBitmap& done, bool dry_run, bool keys_whole) {
  ScanResult result;
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return result;
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  const uint64_t size = static_cast<uint64_t>(info.st_size);
  auto reader = RecordReader::Open(
      path, format == OutputFormat::kCsv ? RecordReader::Mode::kCsv : RecordReader::Mode::kLines);
  if (!reader.ok()) return reader.status();

  // The file is only changed (a torn end cut) once all of it has been read and found valid.
  std::vector<std::string> fields;
  uint64_t record = 0;
  uint64_t complete_end = 0;
  // keys_whole: the key being read (marked once the next key starts) and where its rows begin.
  std::optional<uint64_t> open_seq;
  uint64_t open_start = 0;
  uint64_t open_rows = 0;
  while ((*reader)->Next(fields)) {
    const uint64_t record_start = complete_end;
    ++record;
    if (!(*reader)->last_complete()) break;  // torn: cut below
    complete_end = (*reader)->complete_end();
    if (format == OutputFormat::kCsv && record == 1) {
      if (fields != csv_header) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--resume: ", path, " has columns \"", absl::StrJoin(fields, ","),
            "\", this run writes \"", absl::StrJoin(csv_header, ","),
            "\" (same --field list and --format needed)"));
      }
      result.has_header = true;
      continue;
    }
    uint64_t seq = 0;
    bool ok = format == OutputFormat::kCsv ? (!fields.empty() && ParseSeq(fields[0], seq))
                                           : JsonlSeq(fields[0], seq);
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--resume: record ", record, " of ", path, " is not a gather lookup ",
          format == OutputFormat::kCsv ? "CSV row" : "JSON line", "; refusing to append to it"));
    }
    ++result.rows;
    if (!keys_whole) {
      if (!done.Set(seq)) ++result.duplicates;
      continue;
    }
    if (open_seq == seq) {  // another row of the same key
      ++open_rows;
      continue;
    }
    if (open_seq && !done.Set(*open_seq)) ++result.duplicates;
    open_seq = seq;
    open_start = record_start;
    open_rows = 1;
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  if (open_seq) {
    // The last key may be cut inside its rows: it goes, and is fetched again.
    complete_end = open_start;
    result.rows -= open_rows;
  }
  result.torn_bytes = size - complete_end;
  if (result.torn_bytes > 0 && !dry_run) {
    if (::truncate(path.c_str(), static_cast<off_t>(complete_end)) != 0) {
      return absl::UnavailableError(
          absl::StrCat("--resume: cannot repair ", path, ": ", std::strerror(errno)));
    }
  }
  return result;
}

}  // namespace gather::client
