#include "service/ratestore/local_budget.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace gather::ratestore {

LeaseReply LocalBudget::Lease(const LeaseRequest& request, absl::Time now) {
  LeaseReply reply;
  reply.shared = false;
  if (auto it = cooldowns_.find(request.host); it != cooldowns_.end()) {
    if (it->second > now) {
      reply.cooling_down = true;
      reply.retry_in = it->second - now;
      return reply;
    }
    cooldowns_.erase(it);
  }
  int want = std::max(1, request.want);
  std::string quota_key;
  if (request.quota) {
    QuotaWindow window = WindowAt(*request.quota, now);
    quota_key = absl::StrCat(request.host, "|", window.id);
    int64_t left = request.quota->limit - quota_used_[quota_key];
    if (left <= 0) {
      reply.quota_spent = true;
      reply.quota_reset = window.end;
      reply.quota_left = 0;
      return reply;
    }
    want = static_cast<int>(std::min<int64_t>(want, left));
    reply.quota_left = left;
  }
  if (request.rate > 0) {
    const double rate = request.rate / replicas_;
    const double burst = std::max(1.0, request.burst / replicas_);
    std::string key = absl::StrCat(request.host, "|", request.rate);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) it = buckets_.try_emplace(key, rate, burst, now).first;
    while (reply.granted < want && it->second.TryTake(now)) ++reply.granted;
    if (reply.granted == 0) reply.retry_in = it->second.NextAvailable(now) - now;
  } else {
    reply.granted = want;
  }
  if (request.quota) {
    quota_used_[quota_key] += reply.granted;
    reply.quota_left -= reply.granted;
  }
  return reply;
}

void LocalBudget::Cooldown(const std::string& host, absl::Time until) {
  absl::Time& current = cooldowns_[host];
  current = std::max(current, until);
}

int64_t LocalBudget::QuotaUsed(const std::string& host, const std::string& window_id) const {
  auto it = quota_used_.find(absl::StrCat(host, "|", window_id));
  return it == quota_used_.end() ? 0 : it->second;
}

}  // namespace gather::ratestore
