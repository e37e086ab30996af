// HostLease: one host's share of a budget held in a RateStore (--rate_store, --host_quota), as a
// loop sees it: the tokens leased and not yet spent, whether a lease request is out, the host's
// shared cooldown and its quota. The loop spends leased tokens locally and asks the store for more
// (about 50 ms of the host's rate at a time) only when they run out, so the store is not asked per
// request. Rate tokens unspent after kLeaseLife are dropped, so an idle replica cannot hoard them;
// quota-only tokens (10 at a time) keep until spent, and those a replica still holds when its
// work ends are never sent: a quota may be under-used by that much, never exceeded.
//
// Pure state and decisions: time comes in as arguments. Loop-thread only.
#ifndef GATHER_SERVICE_FETCH_HOST_LEASE_H_
#define GATHER_SERVICE_FETCH_HOST_LEASE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "service/ratestore/quota.h"
#include "service/ratestore/rate_store.h"

namespace gather::fetch {

class HostLease {
 public:
  static constexpr absl::Duration kLeaseSpan = absl::Milliseconds(50);
  static constexpr absl::Duration kLeaseLife = absl::Milliseconds(250);

  explicit HostLease(std::optional<ratestore::HostQuota> quota) : quota_(std::move(quota)) {}

  enum class Gate {
    kOpen,        // a leased token is there: Spend() it with the transfer
    kWait,        // none now: *wake_at says when to look again (or a lease reply will wake it)
    kQuotaSpent,  // the quota is spent until quota_reset(): end the job without sending it
  };
  // `ask` is set when a lease request should be sent now (see Request).
  Gate Check(absl::Time now, absl::Time* wake_at, bool* ask);
  void Spend() { --tokens_; }
  // The request to send for `rate`/`burst` (0: quota only); marks a request as out.
  ratestore::LeaseRequest Request(const std::string& host, double rate, double burst);
  void OnReply(const ratestore::LeaseReply& reply, absl::Time now);
  // A Retry-After seen by this replica: it waits too, without asking the store first.
  void PauseUntil(absl::Time until) { paused_until_ = std::max(paused_until_, until); }

  bool has_quota() const { return quota_.has_value(); }
  absl::Time quota_reset() const { return quota_reset_; }
  // The quota left after the last lease (-1: no quota, or not known yet).
  int64_t quota_left() const { return quota_left_; }
  // The last answer came from the shared store (false: its local fallback).
  bool shared() const { return shared_; }

 private:
  std::optional<ratestore::HostQuota> quota_;
  double rate_ = 0;  // of the last request
  int tokens_ = 0;
  absl::Time expires_ = absl::InfinitePast();
  bool pending_ = false;
  absl::Time ask_after_ = absl::InfinitePast();
  absl::Time paused_until_ = absl::InfinitePast();
  bool quota_spent_ = false;
  absl::Time quota_reset_ = absl::InfinitePast();
  int64_t quota_left_ = -1;
  bool shared_ = true;
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_HOST_LEASE_H_
