#include "service/fetch/host_lease.h"

#include <algorithm>
#include <cmath>

namespace gather::fetch {

HostLease::Gate HostLease::Check(absl::Time now, absl::Time* wake_at, bool* ask) {
  *ask = false;
  if (now < paused_until_) {
    *wake_at = paused_until_;
    return Gate::kWait;
  }
  if (quota_spent_) {
    if (now < quota_reset_) return Gate::kQuotaSpent;
    quota_spent_ = false;  // a new period: ask again
  }
  if (tokens_ > 0 && now < expires_) return Gate::kOpen;
  tokens_ = 0;
  if (pending_) {
    *wake_at = absl::InfiniteFuture();  // the reply wakes the loop
  } else if (now >= ask_after_) {
    *ask = true;
    *wake_at = absl::InfiniteFuture();
  } else {
    *wake_at = ask_after_;
  }
  return Gate::kWait;
}

ratestore::LeaseRequest HostLease::Request(const std::string& host, double rate, double burst) {
  pending_ = true;
  rate_ = rate;
  ratestore::LeaseRequest request;
  request.host = host;
  request.rate = rate;
  request.burst = burst;
  // About kLeaseSpan of the rate (at least one token, at most the burst); a quota-only host
  // takes 10 at a time.
  request.want = rate > 0 ? static_cast<int>(std::clamp(
                                std::ceil(rate * absl::ToDoubleSeconds(kLeaseSpan)), 1.0,
                                std::max(1.0, burst)))
                          : 10;
  request.quota = quota_;
  return request;
}

void HostLease::OnReply(const ratestore::LeaseReply& reply, absl::Time now) {
  pending_ = false;
  shared_ = reply.shared;
  tokens_ = std::max(0, reply.granted);
  // Rate tokens go stale (an idle replica must not hoard a burst); quota tokens do not.
  expires_ = rate_ > 0 ? now + kLeaseLife : absl::InfiniteFuture();
  if (reply.quota_left >= 0) quota_left_ = reply.quota_left;
  if (reply.quota_spent) {
    quota_spent_ = true;
    quota_reset_ = reply.quota_reset;
    quota_left_ = 0;
  }
  if (reply.cooling_down) paused_until_ = std::max(paused_until_, now + reply.retry_in);
  if (tokens_ == 0) ask_after_ = now + std::max(reply.retry_in, absl::Milliseconds(1));
}

}  // namespace gather::fetch
