#include "client/lookup/redo.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/io/record_reader.h"
#include "common/status_names.h"
#include "nlohmann/json.hpp"

namespace gather::client {
namespace {

std::optional<v1::JobStatus> StatusNamed(absl::string_view name) {
  v1::JobStatus status;
  if (!v1::JobStatus_Parse(absl::StrCat("JOB_STATUS_", absl::AsciiStrToUpper(name)), &status)) {
    return std::nullopt;
  }
  return status;
}

bool IsFailure(int s) {
  return s != v1::JOB_STATUS_UNSPECIFIED && s != v1::JOB_STATUS_OK &&
         s != v1::JOB_STATUS_MISSING && s != v1::JOB_STATUS_CANCELLED;
}

// The status of one record, or nullopt when it is not a gather lookup row.
std::optional<v1::JobStatus> StatusOfRecord(const std::vector<std::string>& fields,
                                            OutputFormat format) {
  if (format == OutputFormat::kCsv) {
    if (fields.size() < 3) return std::nullopt;
    return StatusNamed(fields[2]);
  }
  if (fields.empty()) return std::nullopt;
  nlohmann::json row = nlohmann::json::parse(fields[0], nullptr, /*allow_exceptions=*/false);
  if (!row.is_object() || !row.contains("seq")) return std::nullopt;
  auto status = row.find("status");
  if (status == row.end() || !status->is_string()) return std::nullopt;
  return StatusNamed(status->get<std::string>());
}

bool ShellSafe(absl::string_view word) {
  if (word.empty()) return false;
  for (char c : word) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        std::strchr("-_./=:,@%+", c) == nullptr) {
      return false;
    }
  }
  return true;
}

std::string ShellQuote(absl::string_view word) {
  if (ShellSafe(word)) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

absl::StatusOr<StatusSet> ParseRedoStatuses(absl::string_view list) {
  StatusSet set{};
  bool any = false;
  for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    name = absl::StripAsciiWhitespace(name);
    if (absl::EqualsIgnoreCase(name, "failed")) {
      for (int s = 0; s < v1::JobStatus_ARRAYSIZE; ++s) set[s] = set[s] || IsFailure(s);
      any = true;
      continue;
    }
    std::optional<v1::JobStatus> status = StatusNamed(name);
    if (!status || *status == v1::JOB_STATUS_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--redo: \"", name, "\" is not a status (e.g. HTTP_ERROR,TIMEOUT,RATE_LIMITED, or "
          "failed for every failure)"));
    }
    if (*status == v1::JOB_STATUS_OK || *status == v1::JOB_STATUS_CANCELLED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--redo: ", name, " rows are not fetched again (", 
          *status == v1::JOB_STATUS_OK ? "they succeeded" : "a cancelled key has no row",
          ")"));
    }
    set[*status] = true;
    any = true;
  }
  if (!any) return absl::InvalidArgumentError("--redo: give at least one status");
  return set;
}

std::string RedoListOf(const uint64_t* counts, int size) {
  std::vector<std::string> names;
  for (int s = 0; s < size && s < v1::JobStatus_ARRAYSIZE; ++s) {
    if (counts[s] > 0 && IsFailure(s)) {
      names.emplace_back(common::JobStatusName(static_cast<v1::JobStatus>(s)));
    }
  }
  return absl::StrJoin(names, ",");
}

absl::StatusOr<RedoResult> DropRowsToRedo(const std::string& path, OutputFormat format,
                                          bool errors_csv, const StatusSet& redo) {
  RedoResult result;
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return result;
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  if (format == OutputFormat::kCsv && !errors_csv) return result;  // OK rows only
  auto reader = RecordReader::Open(
      path, format == OutputFormat::kCsv ? RecordReader::Mode::kCsv : RecordReader::Mode::kLines);
  if (!reader.ok()) return reader.status();

  // First pass: the byte ranges to keep (records are read whole; a torn end is kept).
  std::vector<std::pair<uint64_t, uint64_t>> keep;
  std::vector<std::string> fields;
  uint64_t record = 0;
  uint64_t end = 0;
  auto keep_range = [&keep](uint64_t from, uint64_t to) {
    if (from == to) return;
    if (!keep.empty() && keep.back().second == from) {
      keep.back().second = to;
    } else {
      keep.emplace_back(from, to);
    }
  };
  while ((*reader)->Next(fields)) {
    const uint64_t start = end;
    ++record;
    if (!(*reader)->last_complete()) break;
    end = (*reader)->complete_end();
    if (format == OutputFormat::kCsv && record == 1) {  // the header
      keep_range(start, end);
      continue;
    }
    std::optional<v1::JobStatus> status = StatusOfRecord(fields, format);
    if (!status) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--redo: record ", record, " of ", path, " is not a gather lookup ",
          format == OutputFormat::kCsv ? "CSV row" : "JSON line", "; the file was not changed"));
    }
    if (redo[*status]) {
      ++result.dropped;
    } else {
      ++result.kept;
      keep_range(start, end);
    }
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  keep_range(end, static_cast<uint64_t>(info.st_size));  // a torn end, as it is
  if (result.dropped == 0) return result;

  // Second pass: copy the kept ranges to a new file beside it, then rename it over the old one.
  const std::string temp = path + ".redo-tmp";
  {
    std::ifstream in(path, std::ios::binary);
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    std::string buffer;
    for (const auto& [from, to] : keep) {
      in.seekg(static_cast<std::streamoff>(from));
      for (uint64_t left = to - from; left > 0 && in && out;) {
        buffer.resize(static_cast<size_t>(std::min<uint64_t>(left, 1 << 20)));
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        out.write(buffer.data(), in.gcount());
        left -= static_cast<uint64_t>(in.gcount());
        if (in.gcount() == 0) break;
      }
    }
    out.flush();
    if (!in || !out) {
      std::remove(temp.c_str());
      return absl::UnavailableError(absl::StrCat("--redo: cannot rewrite ", path));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return absl::UnavailableError(
        absl::StrCat("--redo: cannot replace ", path, ": ", std::strerror(errno)));
  }
  return result;
}

std::string RedoCommand(const std::vector<std::string>& argv, absl::string_view list) {
  std::vector<std::string> words;
  for (size_t i = 0; i < argv.size(); ++i) {
    absl::string_view word = argv[i];
    if (word == "--resume") continue;
    if (word == "--redo") {
      ++i;  // and its value
      continue;
    }
    if (absl::StartsWith(word, "--redo=")) continue;
    words.push_back(ShellQuote(word));
  }
  words.push_back("--resume");
  words.push_back("--redo");
  words.push_back(ShellQuote(list));
  return absl::StrJoin(words, " ");
}

}  // namespace gather::client
