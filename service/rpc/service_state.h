// What every reactor of gatherd shares: the fetch engine, the limits, and RPC admission.
#ifndef GATHER_SERVICE_RPC_SERVICE_STATE_H_
#define GATHER_SERVICE_RPC_SERVICE_STATE_H_

#include <atomic>
#include <cstdint>

#include "service/auth/authenticator.h"
#include "service/config/config.h"
#include "service/fetch/fetch_engine.h"
#include "service/observe/metrics.h"

namespace gather::rpc {

struct ServiceState {
  fetch::FetchEngine* engine = nullptr;
  const auth::Authenticator* auth = nullptr;  // null: no authentication configured
  observe::Metrics* metrics = nullptr;        // null: no metrics
  config::Limits limits;
  int follow_redirects = 0;
  int max_rpcs = 64;
  uint64_t max_queued_jobs = 1'000'000;  // FetchAndRank jobs admitted and not yet finished
  std::atomic<int> active_rpcs{0};
  std::atomic<uint64_t> queued_jobs{0};
  std::atomic<bool> shutting_down{false};

  // Takes an RPC slot; false when --max_rpcs are already running or the server is stopping.
  bool TryAdmit() {
    if (shutting_down.load()) return false;
    if (active_rpcs.fetch_add(1) >= max_rpcs) {
      active_rpcs.fetch_sub(1);
      return false;
    }
    return true;
  }
  void Release() { active_rpcs.fetch_sub(1); }

  // Reserves room for `n` jobs in the server's bounded queue; false when it would overflow.
  bool TryReserveJobs(uint64_t n) {
    uint64_t now = queued_jobs.load();
    do {
      if (now + n > max_queued_jobs) return false;
    } while (!queued_jobs.compare_exchange_weak(now, now + n));
    return true;
  }
  void ReleaseJobs(uint64_t n) { queued_jobs.fetch_sub(n); }
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_SERVICE_STATE_H_
