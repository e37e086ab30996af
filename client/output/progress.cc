#include "client/output/progress.h"

#include <algorithm>
#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gather::client {
namespace {

std::string Grouped(uint64_t value) {
  std::string digits = absl::StrCat(value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

std::string FormatProgress(uint64_t done, std::optional<uint64_t> total, double rate,
                           uint64_t failed) {
  std::string line = Grouped(done);
  if (total) {
    absl::StrAppend(&line, "/", Grouped(*total));
    if (*total > 0) {
      absl::StrAppend(&line, absl::StrFormat(" %.1f%%", 100.0 * static_cast<double>(done) /
                                                            static_cast<double>(*total)));
    }
  }
  absl::StrAppend(&line, " ", Grouped(static_cast<uint64_t>(std::llround(std::max(rate, 0.0)))),
                  "/s");
  if (total && rate > 0 && done <= *total) {
    int64_t seconds = std::llround(static_cast<double>(*total - done) / rate);
    absl::StrAppend(&line, absl::StrFormat(" ETA %d:%02d:%02d", seconds / 3600,
                                           (seconds / 60) % 60, seconds % 60));
  }
  absl::StrAppend(&line, " failed ", Grouped(failed));
  return line;
}

Progress::Progress(bool enabled, bool terminal, std::optional<uint64_t> total,
                   uint64_t already_done, absl::Time start)
    : enabled_(enabled), terminal_(terminal), total_(total), already_done_(already_done),
      start_(start) {}

void Progress::Update(uint64_t done, uint64_t failed, absl::Time now) {
  if (!enabled_) return;
  absl::Duration every = terminal_ ? absl::Milliseconds(200) : absl::Seconds(5);
  if (now - last_print_ < every) return;
  Print(done, failed, now, false);
}

void Progress::Finish(uint64_t done, uint64_t failed, absl::Time now) {
  if (!enabled_) return;
  Print(done, failed, now, true);
}

void Progress::Print(uint64_t done, uint64_t failed, absl::Time now, bool final) {
  last_print_ = now;
  double seconds = absl::ToDoubleSeconds(now - start_);
  double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = FormatProgress(already_done_ + done, total_, rate, failed);
  if (terminal_) {
    size_t width = line.size();
    if (width < last_width_) line.append(last_width_ - width, ' ');
    last_width_ = width;
    std::cerr << '\r' << line << (final ? "\n" : "") << std::flush;
  } else {
    std::cerr << line << "\n" << std::flush;
  }
}

}  // namespace gather::client
