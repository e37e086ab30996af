// CurlEngine: the libcurl multi implementation of FetchEngine, a facade over CurlLoops
// (service/fetch/curl_loop.h): it starts the loop threads, routes each group's jobs to them and
// stops them. Everything else happens on the loops.
//
// With EngineOptions::loops > 1 the engine runs that many loops, each with its share of the
// caps, and routes every job to one of them (a sink is then called from several threads):
//  - a job of a rate-limited group (rate or rate_auto), and any job to a host that such a group
//    is using or that a server-wide host rate covers, goes to loop 0, so every rate bucket,
//    adaptive rate and retry budget of a limited host lives in one loop, exactly as with one loop;
//  - any other job goes to one of the group's loops (a group with concurrency C uses
//    min(C, loops) loops, C split between them): picked by a hash of its URL when it may coalesce,
//    so identical requests of one call, and of calls with C >= loops, meet in one loop; else in
//    turn.
// What this costs against one loop: loop 0 carries every limited host with its share of
// max_per_host (and a call without a rate reaches a limited host with its loop-0 share of C);
// jobs already queued on another loop when their host becomes limited finish there unthrottled;
// each loop keeps its own connections, DNS cache, coalescing cache (coalesce_max_* are per
// loop), hedging latencies and retry budget per host (each with the full floor of
// retry_budget_min_per_second; a limited host has one, in loop 0). Jobs on different loops start
// and complete in no particular order relative to each other.
#ifndef GATHER_SERVICE_FETCH_CURL_ENGINE_H_
#define GATHER_SERVICE_FETCH_CURL_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/config/defaults.h"
#include "service/fetch/curl_loop.h"
#include "service/fetch/engine_stats.h"
#include "service/fetch/fetch_engine.h"
#include "service/policy/egress_policy.h"
#include "service/policy/host_rates.h"
#include "service/policy/retry.h"

namespace gather::fetch {

struct EngineOptions {
  int loops = 1;               // loop threads (see above); at most max_inflight and max_per_host
  int max_inflight = config::kDefaultMaxInflight;  // transfers in flight over all groups
  int max_per_host = config::kDefaultMaxPerHost;   // transfers in flight to one host
  // 0: redirects are not followed (the 3xx is the answer)
  int follow_redirects = config::kDefaultFollowRedirects;
  std::string ca_file;         // extra CA bundle for TLS upstreams; empty: system default
  policy::EgressPolicy egress; // checked on every resolved address at connect time
  std::vector<policy::HostRate> host_rates;  // server-wide rate limits by host pattern
  // Budgets shared with other gatherds and quotas (--rate_store, --host_quota); not owned, must
  // outlive the engine. Null: every budget is this process's alone.
  ratestore::RateStore* rate_store = nullptr;
  std::vector<ratestore::HostQuota> host_quotas;
  // Pinned name resolutions, "HOST:PORT:ADDRESS" (as curl --resolve). The egress policy still
  // checks the address at connect time.
  std::vector<std::string> resolve;
  policy::BackoffPolicy backoff;
  // Retries per first attempt per host, plus this many per second per host.
  double retry_budget_ratio = config::kDefaultRetryBudgetRatio;
  double retry_budget_min_per_second = config::kDefaultRetryBudgetMinPerSecond;
  // A longer Retry-After is not waited for.
  absl::Duration max_retry_after = absl::Seconds(config::kDefaultMaxRetryAfterSeconds);
  // Coalescing: an answer is also handed to identical requests submitted within this time after
  // it arrived (0: only to requests made while it was being fetched). The most recent answers are
  // kept, at most this many and this many body bytes in all (the oldest go first).
  absl::Duration coalesce_window = absl::Seconds(config::kDefaultCoalesceWindowSeconds);
  size_t coalesce_max_entries = 1000;
  size_t coalesce_max_bytes = 8 << 20;
};

class CurlEngine final : public FetchEngine {
 public:
  // Starts the loop threads. Fails if libcurl cannot create a multi handle.
  static absl::StatusOr<std::unique_ptr<CurlEngine>> Create(EngineOptions options);
  ~CurlEngine() override;  // Stop(), then the loop threads end

  GroupId OpenGroup(FetchSink* sink, const GroupOptions& options) override;
  void Submit(GroupId group, uint64_t tag, FetchRequest request) override;
  void SubmitBatch(GroupId group, std::vector<std::pair<uint64_t, FetchRequest>> batch) override;
  void CancelGroup(GroupId group, FetchOutcome outcome) override;
  void CloseGroup(GroupId group) override;
  double HostRate(const std::string& host) const override;
  int64_t QuotaLeft(const std::string& host) const override;
  // Every host with a quota and what is left of it (-1 entries left out).
  std::vector<std::pair<std::string, int64_t>> QuotasLeft() const;
  // Every host with a published rate (adaptive or server-wide), for metrics. Any thread.
  std::vector<std::pair<std::string, double>> HostRates() const;

  // Cancels every job, and from then on every job submitted, with kCancelled (completions are
  // delivered on the loop threads as usual); returns once no loop has work left. Idempotent.
  // The threads end in the destructor.
  void Stop();

  const EngineStats& stats() const { return stats_; }  // summed over the loops
  int loops() const { return static_cast<int>(loops_.size()); }

 private:
  // How a group's jobs are spread over the loops. Guarded by route_mu_.
  struct Route {
    bool limited = false;  // rate or rate_auto: every job to loop 0
    int spread = 1;        // otherwise: `spread` loops from `offset` on, by URL hash (or in turn)
    int offset = 0;
    size_t next = 0;       // the next loop in turn, for jobs that do not coalesce
    absl::flat_hash_set<std::string> hosts;  // limited: hosts it counts in limited_hosts_
  };

  CurlEngine(std::vector<std::pair<LoopOptions, MultiHandle>> loops,
             std::vector<policy::HostRate> host_rates);
  // The loop for `request` (its host set) of `route`. Caller holds route_mu_.
  size_t RouteLocked(Route& route, const FetchRequest& request, bool server_limited);

  // Shared by the loops: declared before them, so they outlive them.
  EngineStats stats_;
  CommandCount pending_;
  std::vector<std::unique_ptr<CurlLoop>> loops_;
  std::vector<std::thread> threads_;
  std::atomic<GroupId> next_group_{1};
  // Host patterns kept on loop 0 (--host_rate, and --host_quota with a rate store): routing only.
  const std::vector<policy::HostRate> host_rates_;
  std::mutex route_mu_;
  absl::flat_hash_map<GroupId, Route> routes_;        // guarded by route_mu_
  absl::flat_hash_map<std::string, int> limited_hosts_;  // open limited groups per host; route_mu_
  std::once_flag stop_once_;
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_CURL_ENGINE_H_
