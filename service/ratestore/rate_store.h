// RateStore: where request budgets shared by several gatherd processes live (--rate_store).
//
// A replica's loop does not ask the store per request: it leases a small block of tokens (about
// 50 ms worth of the host's rate) and spends them locally, asking again when they run out. The
// store grants tokens from one bucket per host and rate (so N replicas together stay within the
// rate), pauses a host for everyone after a Retry-After (a shared cooldown), and counts quotas.
//
// Thread-safety: every method may be called from any thread. Lease's callback runs later on the
// store's own thread, never inline.
#ifndef GATHER_SERVICE_RATESTORE_RATE_STORE_H_
#define GATHER_SERVICE_RATESTORE_RATE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "service/ratestore/quota.h"

namespace gather::ratestore {

struct LeaseRequest {
  std::string host;
  double rate = 0;   // requests per second of the shared budget (0: none, quota only)
  double burst = 0;  // tokens the shared bucket may hold
  int want = 1;      // tokens wanted now
  std::optional<HostQuota> quota;
};

struct LeaseReply {
  int granted = 0;
  // With nothing granted: when to ask again (a token's time, or the end of a cooldown).
  absl::Duration retry_in = absl::ZeroDuration();
  bool cooling_down = false;  // the host is paused by a Retry-After (for every replica)
  bool quota_spent = false;   // nothing more until quota_reset
  absl::Time quota_reset = absl::InfinitePast();
  int64_t quota_left = -1;  // after this grant; -1 without a quota
  bool shared = true;       // false: decided locally (the store is unreachable)
};

class RateStore {
 public:
  virtual ~RateStore() = default;
  virtual void Lease(LeaseRequest request, std::function<void(const LeaseReply&)> done) = 0;
  // Pauses `host` for every replica until `until` (a later pause wins). Fire and forget.
  virtual void Cooldown(const std::string& host, absl::Time until) = 0;
  // True while the shared store answers (false: local fallback).
  virtual bool healthy() const = 0;
};

}  // namespace gather::ratestore

#endif  // GATHER_SERVICE_RATESTORE_RATE_STORE_H_
