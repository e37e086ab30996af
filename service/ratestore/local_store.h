// LocalRateStore: the RateStore of a gatherd without --rate_store that has quotas (--host_quota):
// the same leases, cooldowns and quotas, counted in this process (LocalBudget, replicas = 1).
// One thread answers, so callbacks never run inline, as with RedisRateStore.
#ifndef GATHER_SERVICE_RATESTORE_LOCAL_STORE_H_
#define GATHER_SERVICE_RATESTORE_LOCAL_STORE_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "service/ratestore/local_budget.h"
#include "service/ratestore/rate_store.h"

namespace gather::ratestore {

class LocalRateStore final : public RateStore {
 public:
  LocalRateStore();
  ~LocalRateStore() override;
  LocalRateStore(const LocalRateStore&) = delete;
  LocalRateStore& operator=(const LocalRateStore&) = delete;

  void Lease(LeaseRequest request, std::function<void(const LeaseReply&)> done) override;
  void Cooldown(const std::string& host, absl::Time until) override;
  bool healthy() const override { return true; }

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> work_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  LocalBudget budget_{1};                   // the thread's only
  std::thread thread_;
};

}  // namespace gather::ratestore

#endif  // GATHER_SERVICE_RATESTORE_LOCAL_STORE_H_
