// A token bucket for request rates: `rate` tokens per second, at most `burst` stored. Time is
// passed in by the caller (the engine's loop thread uses the real clock, tests a fake one), so the
// class is pure and never sleeps. Not thread-safe: one owner (the fetch engine's loop thread).
#ifndef GATHER_SERVICE_POLICY_TOKEN_BUCKET_H_
#define GATHER_SERVICE_POLICY_TOKEN_BUCKET_H_

#include <algorithm>

#include "absl/time/time.h"

namespace gather::policy {

class TokenBucket {
 public:
  // A fresh bucket holds `burst` tokens (not a whole second's worth), so a new limit is not
  // overshot in its first second.
  TokenBucket(double rate, double burst, absl::Time now);

  // The default burst for `rate`: 10% of it, at least 1.
  static double DefaultBurst(double rate) { return std::max(1.0, rate / 10); }

  // Changes the rate and burst, keeping the tokens earned so far (capped at the new burst).
  void Reset(double rate, double burst, absl::Time now);

  // Takes one token if there is one at `now`.
  bool TryTake(absl::Time now);
  // The earliest time at which TryTake can succeed (`now` when it can already).
  absl::Time NextAvailable(absl::Time now) const;

  double rate() const { return rate_; }
  double burst() const { return burst_; }

 private:
  void Refill(absl::Time now);

  double rate_;
  double burst_;
  double tokens_;
  absl::Time last_;
};

}  // namespace gather::policy

#endif  // GATHER_SERVICE_POLICY_TOKEN_BUCKET_H_
