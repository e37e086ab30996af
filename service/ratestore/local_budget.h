// LocalBudget: the rate store's answers computed in this process alone. Used when no shared
// store is configured (quotas of one gatherd) and, by RedisRateStore, while Redis is unreachable:
// then each replica takes `rate / replicas` (so N replicas together still stay near the rate) and
// counts quotas on its own (approximate: it cannot see what the others spent).
//
// Pure: time is passed in. Not thread-safe (its owner's thread).
#ifndef GATHER_SERVICE_RATESTORE_LOCAL_BUDGET_H_
#define GATHER_SERVICE_RATESTORE_LOCAL_BUDGET_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "service/policy/token_bucket.h"
#include "service/ratestore/rate_store.h"

namespace gather::ratestore {

class LocalBudget {
 public:
  explicit LocalBudget(int replicas) : replicas_(replicas < 1 ? 1 : replicas) {}

  LeaseReply Lease(const LeaseRequest& request, absl::Time now);
  void Cooldown(const std::string& host, absl::Time until);
  // Requests this process counted against `host`'s quota window `window_id`.
  int64_t QuotaUsed(const std::string& host, const std::string& window_id) const;

 private:
  int replicas_;
  absl::flat_hash_map<std::string, policy::TokenBucket> buckets_;  // host|rate
  absl::flat_hash_map<std::string, absl::Time> cooldowns_;        // host
  absl::flat_hash_map<std::string, int64_t> quota_used_;          // host|window
};

}  // namespace gather::ratestore

#endif  // GATHER_SERVICE_RATESTORE_LOCAL_BUDGET_H_
