// Hedger: when a running job gets a second, identical transfer. No curl here.
//
// A group asks for hedging after a fixed delay (hedge_after) or after the delay the host's own
// answers suggest (hedge_auto). The automatic delay is the host's latency at the quantile that
// leaves kAutoQuantile of transfers slower than it, over the last kSamples answers, recomputed
// every kRecomputeEvery answers: a quantile of many samples follows a machine's load without
// chasing a single slow answer, and by construction only about kAutoQuantile of jobs reach it.
// A budget per host caps automatic hedges at kAutoBudget of first attempts (plus a floor of one
// per second), so a host whose answers all turn slow is not hedged into much more load.
// Every hedge, fixed or automatic, also takes a slot and a rate token and spends the host's
// retry budget (the Scheduler admits it like any transfer).
//
// It owns the latency samples per host and the hedge timers; a timer names a running Job, which
// the loop disarms when the job ends. Time comes in as arguments. Loop-thread only.
#ifndef GATHER_SERVICE_FETCH_HEDGER_H_
#define GATHER_SERVICE_FETCH_HEDGER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "service/fetch/job.h"
#include "service/policy/retry.h"

namespace gather::fetch {

class Hedger {
 public:
  static constexpr size_t kSamples = 1024;
  static constexpr size_t kMinSamples = 50;  // no automatic hedge before this many answers
  static constexpr uint64_t kRecomputeEvery = 64;
  static constexpr double kAutoQuantile = 0.03;
  static constexpr double kAutoBudget = 0.045;

  Hedger() = default;
  Hedger(const Hedger&) = delete;
  Hedger& operator=(const Hedger&) = delete;

  // A transfer to `host` answered after `latency`.
  void RecordLatency(const std::string& host, absl::Duration latency);
  // A job's first transfer to `host` started (earns automatic-hedge budget).
  void OnFirstAttempt(const std::string& host, absl::Time now);
  // Arms the hedge timer of `job`, whose transfer started at `now`, when its group hedges and
  // the delay is known. Disarm drops it (the job ended, or its hedge started).
  void Arm(Job* job, const GroupOptions& options, absl::Time now);
  void Disarm(Job* job);
  // Jobs whose hedge is due now (their timers are dropped). An automatic hedge is returned only
  // while its host's hedge budget allows it.
  std::vector<Job*> TakeDue(absl::Time now);
  absl::Time NextWakeup() const;

  // Forgets a host no group uses any more.
  void ForgetHost(const std::string& host);

 private:
  struct HostLatency {
    explicit HostLatency(absl::Time now) : budget(kAutoBudget, 1, 10, now) {}
    std::vector<absl::Duration> samples;  // a ring of the latest kSamples
    size_t next = 0;
    uint64_t count = 0;
    uint64_t computed_at = 0;  // count when delay was computed
    absl::Duration delay = absl::InfiniteDuration();
    policy::RetryBudget budget;  // automatic hedges only
  };
  HostLatency& For(const std::string& host, absl::Time now);

  absl::flat_hash_map<std::string, HostLatency> hosts_;
  struct Timer {
    Job* job;
    bool automatic;  // the host's delay, not the group's fixed one
  };
  std::multimap<absl::Time, Timer> timers_;
  absl::flat_hash_map<Job*, std::multimap<absl::Time, Timer>::iterator> armed_;
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_HEDGER_H_
