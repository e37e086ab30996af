// What every reactor of gatherd shares: the fetch engine, the limits, and RPC admission.
#ifndef GATHER_SERVICE_RPC_SERVICE_STATE_H_
#define GATHER_SERVICE_RPC_SERVICE_STATE_H_

#include <atomic>

#include "service/config/config.h"
#include "service/fetch/fetch_engine.h"

namespace gather::rpc {

struct ServiceState {
  fetch::FetchEngine* engine = nullptr;
  config::Limits limits;
  int follow_redirects = 0;
  int max_rpcs = 64;
  std::atomic<int> active_rpcs{0};
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
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_SERVICE_STATE_H_
