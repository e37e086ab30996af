// Counting requests in time windows, for tests that check a rate at the upstream.
#ifndef GATHER_TESTS_SUPPORT_RATE_WINDOW_H_
#define GATHER_TESTS_SUPPORT_RATE_WINDOW_H_

#include <algorithm>
#include <cstddef>
#include <vector>

#include "absl/time/time.h"

namespace gather::testing {

// The most of `sorted` (arrival times, ascending) within any window of `width`.
inline int MostWithin(const std::vector<absl::Time>& sorted, absl::Duration width) {
  int most = 0;
  size_t begin = 0;
  for (size_t end = 0; end < sorted.size(); ++end) {
    while (sorted[end] - sorted[begin] >= width) ++begin;
    most = std::max(most, static_cast<int>(end - begin + 1));
  }
  return most;
}

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_RATE_WINDOW_H_
