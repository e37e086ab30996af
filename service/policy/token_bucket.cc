#include "service/policy/token_bucket.h"

namespace gather::policy {
namespace {

// Refills are sums of rate × elapsed time; tolerate their rounding when comparing with one token.
constexpr double kEpsilon = 1e-9;

}  // namespace

TokenBucket::TokenBucket(double rate, double burst, absl::Time now)
    : rate_(rate), burst_(std::max(1.0, burst)), tokens_(std::max(1.0, burst)), last_(now) {}

void TokenBucket::Reset(double rate, double burst, absl::Time now) {
  Refill(now);
  rate_ = rate;
  burst_ = std::max(1.0, burst);
  tokens_ = std::min(tokens_, burst_);
}

void TokenBucket::Refill(absl::Time now) {
  if (now <= last_) return;
  tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
  last_ = now;
}

bool TokenBucket::TryTake(absl::Time now) {
  Refill(now);
  if (tokens_ < 1.0 - kEpsilon) return false;
  tokens_ = std::max(0.0, tokens_ - 1.0);
  return true;
}

absl::Time TokenBucket::NextAvailable(absl::Time now) const {
  double tokens = tokens_;
  if (now > last_) tokens = std::min(burst_, tokens + absl::ToDoubleSeconds(now - last_) * rate_);
  if (tokens >= 1.0 - kEpsilon) return now;
  if (rate_ <= 0) return absl::InfiniteFuture();
  return now + absl::Seconds((1.0 - tokens) / rate_);
}

}  // namespace gather::policy
