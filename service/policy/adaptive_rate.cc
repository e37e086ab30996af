#include "service/policy/adaptive_rate.h"

#include <algorithm>

namespace gather::policy {

AdaptiveRate::AdaptiveRate(AdaptiveRateOptions options, absl::Time now)
    : options_(options), rate_(options.initial), window_start_(now), start_(now) {}

void AdaptiveRate::Cut(absl::Time now) {
  while (!accepted_.empty() && now - accepted_.front() >= absl::Seconds(1)) accepted_.pop_front();
  double base = rate_;
  if (now - start_ >= absl::Seconds(1)) {
    // What the host really took over the last second: the limit is no higher than that.
    base = std::min(base, std::max(static_cast<double>(accepted_.size()), options_.min));
  }
  rate_ = std::max(options_.min, base * options_.decrease_factor);
  slow_start_ = false;
  cooldown_until_ = now + options_.cooldown;
}

bool AdaptiveRate::OnAnswer(absl::Time now, bool throttled, absl::Duration latency) {
  if (!throttled) {
    accepted_.push_back(now);
    while (now - accepted_.front() >= absl::Seconds(1)) accepted_.pop_front();
    ++answers_in_window_;
    latency_in_window_ += latency;
    best_latency_ = std::min(best_latency_, latency);
    return false;
  }
  if (now < cooldown_until_) return false;
  Cut(now);
  return true;
}

bool AdaptiveRate::Tick(absl::Time now, bool limited) {
  limited_in_window_ = limited_in_window_ || limited;
  if (now - window_start_ < options_.interval) return false;
  bool changed = false;
  bool slow = answers_in_window_ >= 10 &&
              latency_in_window_ / answers_in_window_ >
                  best_latency_ * options_.latency_factor + options_.latency_slack;
  if (now >= cooldown_until_) {
    if (slow) {
      Cut(now);
      changed = true;
    } else if (limited_in_window_) {
      rate_ = slow_start_ ? rate_ * options_.slow_start_factor
                          : rate_ + std::max(0.25, rate_ * options_.increase_fraction);
      rate_ = std::min(rate_, options_.max);
      changed = true;
    }
  }
  window_start_ = now;
  limited_in_window_ = false;
  answers_in_window_ = 0;
  latency_in_window_ = absl::ZeroDuration();
  return changed;
}

}  // namespace gather::policy
