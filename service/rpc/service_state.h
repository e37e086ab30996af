// What every reactor of gatherd shares: the fetch engine, the limits, and RPC admission.
#ifndef GATHER_SERVICE_RPC_SERVICE_STATE_H_
#define GATHER_SERVICE_RPC_SERVICE_STATE_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "grpcpp/support/status.h"
#include "service/auth/authenticator.h"
#include "service/config/config.h"
#include "service/fetch/fetch_engine.h"
#include "service/observe/metrics.h"

namespace gather::rpc {

// A running call that can be asked to wrap up at shutdown.
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Cancels the call's remaining jobs so their CANCELLED rows are sent, stops reading input and
  // ends the call once that is written. Must not call Finish (or anything that can run OnDone)
  // on the calling thread: ServiceState::DrainAll holds its registry lock while calling it.
  virtual void Drain() = 0;
};

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
  // Why TryAdmit said no: UNAVAILABLE while stopping (a client retries on another server),
  // RESOURCE_EXHAUSTED when --max_rpcs are running.
  grpc::Status AdmissionRefusal() const {
    return shutting_down.load()
               ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "gatherd is shutting down; call another server")
               : grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "too many RPCs in progress (--max_rpcs)");
  }

  // Reserves room for `n` jobs in the server's bounded queue; false when it would overflow.
  bool TryReserveJobs(uint64_t n) {
    uint64_t now = queued_jobs.load();
    do {
      if (now + n > max_queued_jobs) return false;
    } while (!queued_jobs.compare_exchange_weak(now, now + n));
    return true;
  }
  void ReleaseJobs(uint64_t n) { queued_jobs.fetch_sub(n); }

  // The calls DrainAll reaches. A reactor registers once admitted (BatchLookup: before its spec
  // arrives; FetchAndRank: once its engine group is open) and unregisters in OnDone, before it
  // is deleted; DrainAll holds calls_mu_ while it drains, so a call cannot
  // be deleted under it. Any thread.
  void Register(Drainable* call) {
    std::lock_guard<std::mutex> lock(calls_mu_);
    calls_.insert(call);
    if (draining_) call->Drain();  // admitted just before the shutdown began
  }
  void Unregister(Drainable* call) {
    std::lock_guard<std::mutex> lock(calls_mu_);
    calls_.erase(call);
  }
  // Shutdown, after the grace: every registered call cancels its jobs and ends. Returns how many
  // calls were asked. Called by main's thread.
  int DrainAll() {
    std::lock_guard<std::mutex> lock(calls_mu_);
    draining_ = true;
    for (Drainable* call : calls_) call->Drain();
    return static_cast<int>(calls_.size());
  }

 private:
  std::mutex calls_mu_;
  std::unordered_set<Drainable*> calls_;  // guarded by calls_mu_
  bool draining_ = false;                  // guarded by calls_mu_: DrainAll ran
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_SERVICE_STATE_H_
