#include "tests/support/scale.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/numbers.h"

namespace gather::testing {
namespace {

double PositiveEnv(const char* name, double fallback) {
  const char* text = std::getenv(name);
  double value = 0;
  if (text == nullptr || !absl::SimpleAtod(text, &value) || !(value > 0) || !std::isfinite(value)) {
    return fallback;
  }
  return value;
}

}  // namespace

double TestScale() { return PositiveEnv("GATHER_TEST_SCALE", 1.0); }

int Scaled(int n, int min) {
  double scaled = std::round(n * TestScale());
  return std::max(min, static_cast<int>(std::min(scaled, 2e9)));
}

double TimeSlack() {
#if defined(__SANITIZE_THREAD__)
  constexpr double kDefault = 5;
#elif defined(__SANITIZE_ADDRESS__)
  constexpr double kDefault = 3;
#else
  constexpr double kDefault = 1;
#endif
  return PositiveEnv("GATHER_TEST_TIME_SLACK", kDefault);
}

}  // namespace gather::testing
