// The progress line of long commands on stderr: done/total, rate, ETA, failures. Formatting is a
// pure function; Progress decides when to print (on a terminal: redrawn in place every 200 ms;
// otherwise, when asked for, a plain line every few seconds).
#ifndef GATHER_CLIENT_OUTPUT_PROGRESS_H_
#define GATHER_CLIENT_OUTPUT_PROGRESS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace gather::client {

// "1,234/10,000 12.3% 2,345/s ETA 0:03:45 failed 12" (total unknown: "1,234 2,345/s failed 12").
std::string FormatProgress(uint64_t done, std::optional<uint64_t> total, double rate,
                           uint64_t failed);

class Progress {
 public:
  // `enabled`: print at all; `terminal`: stderr is a terminal (redraw in place).
  Progress(bool enabled, bool terminal, std::optional<uint64_t> total, uint64_t already_done,
           absl::Time start);

  // Called often; prints when due. `done` counts this run's rows.
  void Update(uint64_t done, uint64_t failed, absl::Time now);
  // Prints the final state and ends the line.
  void Finish(uint64_t done, uint64_t failed, absl::Time now);

 private:
  void Print(uint64_t done, uint64_t failed, absl::Time now, bool final);

  bool enabled_;
  bool terminal_;
  std::optional<uint64_t> total_;
  uint64_t already_done_;
  absl::Time start_;
  absl::Time last_print_ = absl::InfinitePast();
  size_t last_width_ = 0;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_OUTPUT_PROGRESS_H_
