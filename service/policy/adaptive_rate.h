// Finds a host's rate limit by itself (rate "auto"): additive increase, multiplicative decrease,
// as TCP congestion control and Vector's adaptive request concurrency do. It starts modestly,
// grows fast while answers are clean (slow start: ×1.5 per interval until the first throttle),
// then by ~2% per interval, and cuts to 85% of what the host accepted over the last second (or
// of the rate, whichever is lower) on a 429 or 503 or when latency climbs far above the
// host's best, at most once per cooldown (answers already in flight at the old rate do not cut
// it again). With these constants it settles at ~90–95% of an upstream's limit with about 1% of
// requests throttled. Pure: time is passed in. Not thread-safe (the engine's loop thread owns it).
#ifndef GATHER_SERVICE_POLICY_ADAPTIVE_RATE_H_
#define GATHER_SERVICE_POLICY_ADAPTIVE_RATE_H_

#include <deque>

#include "absl/time/time.h"

namespace gather::policy {

struct AdaptiveRateOptions {
  double initial = 20;     // requests per second at the start
  double min = 1;
  double max = 100'000;
  absl::Duration interval = absl::Milliseconds(250);
  double slow_start_factor = 1.5;
  double increase_fraction = 0.02;  // per interval, after the first throttle
  double decrease_factor = 0.85;
  absl::Duration cooldown = absl::Seconds(1);
  double latency_factor = 4;        // a window's mean latency over factor × best + slack is a cut
  absl::Duration latency_slack = absl::Milliseconds(100);
};

class AdaptiveRate {
 public:
  AdaptiveRate(AdaptiveRateOptions options, absl::Time now);

  // One answer from the host. Returns true when the rate changed (a cut).
  bool OnAnswer(absl::Time now, bool throttled, absl::Duration latency);
  // Called as time passes; `limited` says whether jobs waited for this host's tokens since the
  // last call (no point raising a rate nobody uses). Returns true when the rate changed.
  bool Tick(absl::Time now, bool limited);

  double rate() const { return rate_; }
  bool slow_start() const { return slow_start_; }

 private:
  void Cut(absl::Time now);

  AdaptiveRateOptions options_;
  double rate_;
  bool slow_start_ = true;
  absl::Time window_start_;
  absl::Time cooldown_until_ = absl::InfinitePast();
  bool limited_in_window_ = false;
  int answers_in_window_ = 0;
  absl::Duration latency_in_window_ = absl::ZeroDuration();
  absl::Duration best_latency_ = absl::InfiniteDuration();
  absl::Time start_;
  std::deque<absl::Time> accepted_;  // clean answers in the last second
};

}  // namespace gather::policy

#endif  // GATHER_SERVICE_POLICY_ADAPTIVE_RATE_H_
