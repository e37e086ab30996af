// Scheduler: which job of which group starts next on one engine loop, and when. No curl here.
//
// It owns the loop's groups and per-host state, the jobs waiting for a slot (per-group queues,
// served round-robin so one big call cannot starve a small one) and the jobs waiting for a
// retry's time. Admission honours, for every transfer a job makes (hedges included): the loop's
// cap, the group's cap, the per-host cap, the host's rate bucket (the lowest rate asked for by the
// groups using the host, the server's --host_rate, or the adaptive rate) and, for retries and
// hedges, the host's retry budget. It returns decisions (start this job, hedge that one, this
// job waits until then) and never calls a sink: the loop completes jobs.
//
// Time comes in as arguments (tests pass a fake clock). Loop-thread only, except PublishedRate(s).
#ifndef GATHER_SERVICE_FETCH_SCHEDULER_H_
#define GATHER_SERVICE_FETCH_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/time/time.h"
#include "service/fetch/engine_stats.h"
#include "service/fetch/host_lease.h"
#include "service/fetch/fetch_types.h"
#include "service/fetch/job.h"
#include "service/policy/adaptive_rate.h"
#include "service/policy/host_rates.h"
#include "service/policy/retry.h"
#include "service/policy/token_bucket.h"

namespace gather::fetch {

struct SchedulerOptions {
  int max_inflight = 1;  // transfers in flight on this loop
  int max_per_host = 1;  // transfers in flight to one host on this loop
  std::vector<policy::HostRate> host_rates;
  policy::BackoffPolicy backoff;
  double retry_budget_ratio = 0;
  double retry_budget_min_per_second = 0;
  absl::Duration max_retry_after = absl::ZeroDuration();
  // Budgets shared with other gatherds (or quotas): every host with a server rate (--host_rate)
  // or a quota leases its tokens from here (HostLease); calls' own rates stay local. Null: none.
  // post_lease hands a reply back to the loop thread.
  ratestore::RateStore* rate_store = nullptr;
  std::vector<ratestore::HostQuota> host_quotas;
  std::function<void(const std::string& host, const ratestore::LeaseReply&)> post_lease;
};

// One group (an RPC's jobs) on one loop. The loop reads id, sink and options; the rest is the
// Scheduler's.
struct GroupState {
  GroupId id = 0;
  FetchSink* sink = nullptr;
  GroupOptions options;
  std::deque<std::unique_ptr<Job>> queue;  // waiting for a slot; retries at the front
  std::deque<Job*> hedges_wanted;          // running jobs whose hedge is due, waiting for a slot
  int inflight = 0;                        // transfers in flight, hedges included
  bool ready = false;                      // listed in the round-robin
  absl::flat_hash_set<HostState*> hosts;   // hosts it submitted to
};

// One host, shared by every group of the loop: transfers in flight, the rate, the retry budget.
struct HostState {
  HostState(std::string name, const SchedulerOptions& options, absl::Time now);
  std::string name;
  int inflight = 0;
  int groups = 0;  // open groups that submitted here
  std::optional<policy::HostRate> server_rate;
  absl::flat_hash_map<GroupId, std::pair<double, double>> group_rates;  // rate, burst
  std::optional<policy::TokenBucket> bucket;
  policy::RetryBudget budget;
  int auto_groups = 0;  // open groups asking for rate "auto" here
  std::optional<policy::AdaptiveRate> adaptive;
  bool limited = false;  // a job waited for a token since the last adaptive tick
  std::optional<HostLease> lease;  // with a rate store: its share of the shared budget
};

class Scheduler {
 public:
  Scheduler(SchedulerOptions options, EngineStats* stats);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // ---- groups ----
  GroupState& OpenGroup(GroupId id, FetchSink* sink, GroupOptions options);
  GroupState* FindGroup(GroupId id);
  // Forgets a group whose jobs have all been completed or taken (TakeWaiting). Returns the names
  // of hosts no group uses any more (their state is gone).
  std::vector<std::string> CloseGroup(GroupState& group, absl::Time now);
  template <typename F>
  void ForEachGroup(F&& f) {
    for (auto& [id, group] : groups_) f(*group);
  }

  // ---- jobs ----
  // Binds a new job to its group and host (host state and rates set up). Call before Enqueue.
  void Attach(Job& job, GroupState& group, absl::Time now);
  // Queues a job for a slot: new jobs at the back, a job handed over by another at the front.
  void Enqueue(std::unique_ptr<Job> job, bool front = false);

  // The next transfer to start now, its slot and rate token taken: a queued job (job), or a
  // hedge of a running job (hedge_of). Both empty when nothing may start now.
  struct Admission {
    std::unique_ptr<Job> job;
    Job* hedge_of = nullptr;
    // A job that must end without being sent (its host's quota is spent), and its result.
    std::unique_ptr<Job> refused;
    FetchResult refusal;
  };
  Admission Next(absl::Time now);
  // A transfer of `job` ended (or did not start): its slot is free.
  void EndTransfer(const Job& job);
  // A running job's hedge is due: it is started by Next like a queued job (before them), under
  // the same caps and rate. ForgetHedge withdraws it (the job ended first).
  void WantHedge(Job& running);
  void ForgetHedge(Job& running);

  // ---- retries ----
  struct RetryDecision {
    bool retry = false;
    absl::Duration wait = absl::ZeroDuration();
    // The part of `wait` added because the host's retry budget had no retry to spare now.
    absl::Duration budget_wait = absl::ZeroDuration();
    std::string note;  // why not, when it matters to the caller
  };
  // Whether `result` of the job's latest attempt is retried, and after how long (backoff with
  // jitter, Retry-After as the minimum, never past the deadline). A retry the host's retry budget
  // cannot afford now waits until the budget has earned it (RetryBudget::Reserve); it fails only
  // when that is past the group's deadline.
  RetryDecision DecideRetry(const Job& job, const FetchResult& result,
                            absl::string_view retry_after, absl::Time now);
  // The job waits until `when`, then goes to the front of its group's queue.
  void Delay(std::unique_ptr<Job> job, absl::Time when);
  void PromoteDueRetries(absl::Time now);

  // ---- ends ----
  // Every waiting job (queued or waiting for a retry) of `group`, or of every group.
  std::vector<std::unique_ptr<Job>> TakeWaiting(GroupState& group);
  std::vector<std::unique_ptr<Job>> TakeAllWaiting();
  // Queued jobs of groups whose deadline has passed.
  std::vector<std::unique_ptr<Job>> TakeExpired(absl::Time now);

  // ---- shared budgets (rate store) ----
  // A lease reply for `host` (posted back to the loop thread).
  void OnLease(const std::string& host, const ratestore::LeaseReply& reply, absl::Time now);
  // The quota left for `host` after its last lease (-1: no quota). Any thread.
  int64_t PublishedQuotaLeft(const std::string& host) const;
  std::vector<std::pair<std::string, int64_t>> PublishedQuotasLeft() const;

  // ---- adaptive rates ----
  void OnAnswer(HostState& host, bool throttled, absl::Duration latency, absl::Time now);
  void Tick(absl::Time now);

  // The earliest time something may change without a new event: a retry due, a rate token, a
  // deadline of a group with queued jobs. InfiniteFuture when none.
  absl::Time NextWakeup() const;
  int64_t queued() const { return queued_; }
  int64_t inflight() const { return inflight_; }

  // The rate enforced for `host` on this loop (0: none). Any thread.
  double PublishedRate(const std::string& host) const;
  std::vector<std::pair<std::string, double>> PublishedRates() const;

 private:
  HostState& HostFor(const std::string& name, absl::Time now);
  void UpdateBucket(HostState& host, absl::Time now);
  // Drops a host's state when no group uses it and no transfer runs there.
  bool ReleaseHost(HostState& host);
  void MakeReady(GroupState& group);
  // Whether one more transfer of `group` to `host` may start now; takes the rate token if so.
  bool TakeSlot(GroupState& group, HostState& host, absl::Time now);
  // The shared budget's part of TakeSlot: true when a leased token is there (spent by TakeSlot).
  bool LeaseAllows(HostState& host, absl::Time now);
  // The front job of `group`, if its host's quota is spent: ended without a request.
  bool RefuseSpentQuota(GroupState& group, absl::Time now, Admission& admission);

  const SchedulerOptions options_;
  EngineStats* const stats_;
  absl::flat_hash_map<GroupId, std::unique_ptr<GroupState>> groups_;
  absl::node_hash_map<std::string, HostState> hosts_;
  absl::flat_hash_set<HostState*> adaptive_hosts_;
  std::vector<GroupState*> ready_;  // groups with queued jobs or wanted hedges, round-robin
  size_t cursor_ = 0;
  std::multimap<absl::Time, std::unique_ptr<Job>> delayed_;  // retries by the time they may start
  absl::Time next_token_ = absl::InfiniteFuture();  // earliest token a blocked group waits for
  int64_t queued_ = 0;    // jobs in group queues and delayed_
  int64_t inflight_ = 0;  // transfers
  std::mt19937_64 random_{std::random_device{}()};
  mutable std::mutex published_mu_;
  absl::flat_hash_map<std::string, double> published_rates_;  // guarded by published_mu_
  absl::flat_hash_map<std::string, int64_t> published_quota_;  // guarded by published_mu_
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_SCHEDULER_H_
