#include "service/policy/retry.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace gather::policy {

bool IsRetryableHttpStatus(int http_status) {
  return http_status == 429 || http_status == 502 || http_status == 503 || http_status == 504;
}

absl::Duration Backoff(int retry, const BackoffPolicy& policy, double random01) {
  int shift = std::clamp(retry - 1, 0, 30);
  absl::Duration ceiling = std::min(policy.cap, policy.base * static_cast<double>(int64_t{1} << shift));
  return ceiling * std::clamp(random01, 0.0, 1.0);
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (absl::ascii_isdigit(static_cast<unsigned char>(value[0]))) {
    uint64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds)) return std::nullopt;
    return absl::Seconds(static_cast<int64_t>(std::min<uint64_t>(seconds, 1u << 30)));
  }
  // RFC 9110 §5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms.
  static constexpr const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                             "%A, %d-%b-%y %H:%M:%S GMT",
                                             "%a %b %e %H:%M:%S %Y"};
  std::string text(value);
  for (const char* format : kFormats) {
    absl::Time when;
    std::string error;
    // absl also accepts "infinite-future" and "infinite-past": not HTTP dates.
    if (absl::ParseTime(format, text, absl::UTCTimeZone(), &when, &error) &&
        when != absl::InfiniteFuture() && when != absl::InfinitePast()) {
      return std::max(absl::ZeroDuration(), when - now);
    }
  }
  return std::nullopt;
}

RetryBudget::RetryBudget(double ratio, double min_per_second, double max_balance, absl::Time now)
    : ratio_(ratio), min_per_second_(min_per_second), max_balance_(max_balance),
      balance_(std::min(max_balance, min_per_second)), last_(now) {}

void RetryBudget::Earn(absl::Time now) {
  if (now <= last_) return;
  balance_ = std::min(max_balance_, balance_ + absl::ToDoubleSeconds(now - last_) * min_per_second_);
  last_ = now;
}

void RetryBudget::OnRequest(absl::Time now) {
  Earn(now);
  balance_ = std::min(max_balance_, balance_ + ratio_);
}

bool RetryBudget::TryRetry(absl::Time now) {
  Earn(now);
  if (balance_ < 1.0) return false;
  balance_ -= 1.0;
  return true;
}

absl::Duration RetryBudget::Reserve(absl::Time now) {
  Earn(now);
  balance_ -= 1.0;
  if (balance_ >= 0.0) return absl::ZeroDuration();
  if (min_per_second_ <= 0.0) return absl::InfiniteDuration();
  return absl::Seconds(-balance_ / min_per_second_);
}

}  // namespace gather::policy
