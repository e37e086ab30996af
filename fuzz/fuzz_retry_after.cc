// Fuzzes ParseRetryAfter (delta-seconds or an HTTP-date in the IMF-fixdate, RFC 850 or asctime
// form) with the whole input as the header value, and Backoff with numbers taken from its bytes.
//
// Invariants: a wait is never negative; a value starting with a digit is delta-seconds and is
// accepted exactly when it is all digits and fits 64 bits, giving min(N, 2^30) s; a date's wait
// shrinks by exactly the time that passed (down to zero) and does not depend on the "now" for
// seconds; the backoff stays within [0, min(cap, base * 2^(retry-1))].
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "absl/strings/string_view.h"
#include "fuzz_util.h"
#include "service/policy/retry.h"

namespace {

using namespace gather::policy;

// Sun, 06 Nov 1994 08:49:37 GMT, as in the unit tests.
const absl::Time kNow = absl::FromUnixSeconds(784111777);

// Delta-seconds as RFC 9110 defines them: all digits. nullopt when not of that form or too big
// for 64 bits.
std::optional<uint64_t> ReferenceSeconds(absl::string_view value, bool& all_digits) {
  all_digits = !value.empty();
  uint64_t n = 0;
  bool overflow = false;
  for (char c : value) {
    if (c < '0' || c > '9') {
      all_digits = false;
      return std::nullopt;
    }
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - digit) / 10) overflow = true;
    n = n * 10 + digit;
  }
  if (overflow) return std::nullopt;
  return n;
}

void CheckBackoff(const uint8_t* data, size_t size) {
  if (size < 6) return;
  int retry = static_cast<int8_t>(data[0]);
  BackoffPolicy policy;
  policy.base = absl::Milliseconds(data[1] * 40);   // 0 .. ~10 s
  policy.cap = absl::Milliseconds(data[2] * 250);   // 0 .. ~64 s
  uint32_t bits;
  std::memcpy(&bits, data + 2, sizeof(bits));
  double random01 = static_cast<double>(bits) / 4294967296.0;  // [0, 1)
  absl::Duration wait = Backoff(retry, policy, random01);
  FUZZ_CHECK(wait >= absl::ZeroDuration(), std::to_string(retry));
  FUZZ_CHECK(wait <= policy.cap, std::to_string(retry));
  int shift = retry - 1 < 0 ? 0 : retry - 1 > 30 ? 30 : retry - 1;
  FUZZ_CHECK(wait <= policy.base * static_cast<double>(int64_t{1} << shift), std::to_string(retry));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view value(reinterpret_cast<const char*>(data), size);
  std::optional<absl::Duration> wait = ParseRetryAfter(value, kNow);
  if (wait.has_value()) FUZZ_CHECK(*wait >= absl::ZeroDuration(), value);

  absl::string_view stripped = absl::StripAsciiWhitespace(value);
  if (!stripped.empty() && absl::ascii_isdigit(static_cast<unsigned char>(stripped[0]))) {
    bool all_digits = false;
    std::optional<uint64_t> seconds = ReferenceSeconds(stripped, all_digits);
    FUZZ_CHECK(wait.has_value() == seconds.has_value(), value);
    if (seconds.has_value()) {
      uint64_t capped = *seconds < (uint64_t{1} << 30) ? *seconds : (uint64_t{1} << 30);
      FUZZ_CHECK(*wait == absl::Seconds(static_cast<int64_t>(capped)), value);
      // Seconds do not depend on "now".
      FUZZ_CHECK(ParseRetryAfter(value, kNow + absl::Hours(1)) == wait, value);
    }
  } else if (wait.has_value()) {
    // A date: an hour later the wait is an hour shorter, never below zero.
    std::optional<absl::Duration> later = ParseRetryAfter(value, kNow + absl::Hours(1));
    FUZZ_CHECK(later.has_value(), value);
    absl::Duration expected = *wait == absl::InfiniteDuration()
                                  ? *wait
                                  : std::max(absl::ZeroDuration(), *wait - absl::Hours(1));
    FUZZ_CHECK(*later == expected, value);
    FUZZ_CHECK(*later <= *wait, value);
  }

  CheckBackoff(data, size);
  return 0;
}
