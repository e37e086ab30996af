// Test sizes and timing under sanitizers. Big tests (hundreds of thousands of keys, long rate
// runs) shrink by GATHER_TEST_SCALE, a factor scripts/sanitize sets (e.g. 0.25 under ASan, 0.05
// under TSan); checks that sanitizers make meaningless (RSS, which ASan's shadow memory and
// quarantine inflate) skip themselves, and wall-time bounds widen by TimeSlack().
#ifndef GATHER_TESTS_SUPPORT_SCALE_H_
#define GATHER_TESTS_SUPPORT_SCALE_H_

#include <algorithm>

#include "absl/time/time.h"

namespace gather::testing {

// GCC and Clang (>= 14) define these under -fsanitize=address / -fsanitize=thread. The test
// binaries, gatherd and the CLI of one build tree share their flags, so a test knows from its
// own build whether the processes it starts are instrumented.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr const char* kSanitizer = "AddressSanitizer";
#elif defined(__SANITIZE_THREAD__)
inline constexpr const char* kSanitizer = "ThreadSanitizer";
#else
inline constexpr const char* kSanitizer = nullptr;
#endif
inline constexpr bool kUnderSanitizer = kSanitizer != nullptr;
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderThreadSanitizer = true;
#else
inline constexpr bool kUnderThreadSanitizer = false;
#endif

// GATHER_TEST_SCALE when it parses as a number > 0, else 1.
double TestScale();

// `n` times TestScale(), rounded, and at least `min` (which keeps a shrunken test meaningful).
int Scaled(int n, int min = 1);

// How much longer than normal an operation may take: 1 in a normal build, more under a
// sanitizer (TSan slows code 5-15x, ASan 2-3x). Overridable with GATHER_TEST_TIME_SLACK.
double TimeSlack();
inline absl::Duration Slack(absl::Duration bound) { return bound * TimeSlack(); }
// Slack(bound), but never `ceiling` or more: for a bound that must stay under the time the
// failure it guards against would take (a 10 s upstream the job must not wait for).
inline absl::Duration SlackBelow(absl::Duration bound, absl::Duration ceiling) {
  return std::min(Slack(bound), ceiling);
}

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_SCALE_H_
