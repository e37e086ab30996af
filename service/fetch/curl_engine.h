// CurlEngine: the libcurl multi implementation of FetchEngine.
//
// One loop thread owns the CURLM handle and every CURL easy handle (hiperfifo/multi-uv pattern):
// other threads only append commands to an inbox under a mutex and wake the loop with
// curl_multi_wakeup. The loop drains the inbox, admits queued jobs under the global, per-group
// and per-host caps (counted here, in transfers, not by curl's connection caps), runs
// curl_multi_perform + curl_multi_poll, drains curl_multi_info_read after every perform, and
// delivers each job's completion to its group's FetchSink exactly once. Per-transfer state sits on
// CURLOPT_PRIVATE. No exception crosses the loop or a curl callback.
#ifndef GATHER_SERVICE_FETCH_CURL_ENGINE_H_
#define GATHER_SERVICE_FETCH_CURL_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/fetch/fetch_engine.h"
#include "service/policy/egress_policy.h"
#include "service/policy/host_rates.h"
#include "service/policy/retry.h"

namespace gather::fetch {

struct EngineOptions {
  int max_inflight = 2000;     // transfers in flight over all groups
  int max_per_host = 1000;     // transfers in flight to one host
  int follow_redirects = 0;    // 0: redirects are not followed (the 3xx is the answer)
  std::string ca_file;         // extra CA bundle for TLS upstreams; empty: system default
  policy::EgressPolicy egress; // checked on every resolved address at connect time
  std::vector<policy::HostRate> host_rates;  // server-wide rate limits by host pattern
  // Pinned name resolutions, "HOST:PORT:ADDRESS" (as curl --resolve). The egress policy still
  // checks the address at connect time.
  std::vector<std::string> resolve;
  policy::BackoffPolicy backoff;
  double retry_budget_ratio = 0.2;           // retries per first attempt, per host
  double retry_budget_min_per_second = 10;   // plus this many per second, per host
  absl::Duration max_retry_after = absl::Seconds(60);  // a longer Retry-After is not waited for
  // Coalescing: an answer is also handed to identical requests submitted within this time after
  // it arrived (0: only to requests made while it was being fetched). The most recent answers are
  // kept, at most this many and this many body bytes in all (the oldest go first).
  absl::Duration coalesce_window = absl::Seconds(1);
  size_t coalesce_max_entries = 1000;
  size_t coalesce_max_bytes = 8 << 20;
};

// Counters readable from any thread (relaxed; for tests, metrics and logs).
struct EngineStats {
  std::atomic<int64_t> inflight{0};
  std::atomic<int64_t> queued{0};
  std::atomic<int64_t> started{0};
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> max_inflight_seen{0};
  std::atomic<int64_t> retries{0};         // retries scheduled
  std::atomic<int64_t> retries_denied{0};  // retries the budget refused
  std::atomic<int64_t> rate_waits{0};      // admissions deferred for a rate token
  std::atomic<int64_t> coalesced{0};       // jobs answered by an identical request's fetch
  std::atomic<int64_t> hedges{0};          // hedge transfers started
  std::atomic<int64_t> hedges_won{0};      // hedges that answered first
};

class CurlEngine final : public FetchEngine {
 public:
  // Starts the loop thread. Fails if libcurl cannot create a multi handle.
  static absl::StatusOr<std::unique_ptr<CurlEngine>> Create(EngineOptions options);
  ~CurlEngine() override;  // Stop() then join

  GroupId OpenGroup(FetchSink* sink, const GroupOptions& options) override;
  void Submit(GroupId group, uint64_t tag, FetchRequest request) override;
  void SubmitBatch(GroupId group, std::vector<std::pair<uint64_t, FetchRequest>> batch) override;
  void CancelGroup(GroupId group, FetchOutcome outcome) override;
  void CloseGroup(GroupId group) override;
  double HostRate(const std::string& host) const override;
  // Every host with a published rate (adaptive or server-wide), for metrics. Any thread.
  std::vector<std::pair<std::string, double>> HostRates() const;

  // Cancels every job (kCancelled completions are delivered) and stops the loop thread.
  // Idempotent; called by the destructor.
  void Stop();

  const EngineStats& stats() const { return stats_; }

  class Loop;  // loop-thread state, defined in curl_engine.cc

 private:
  explicit CurlEngine(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
  EngineStats stats_;
  std::atomic<GroupId> next_group_{1};
  std::thread thread_;
  std::once_flag stop_once_;
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_CURL_ENGINE_H_
