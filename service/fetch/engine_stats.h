// Counters of a fetch engine, readable from any thread (relaxed; for tests, metrics and logs).
#ifndef GATHER_SERVICE_FETCH_ENGINE_STATS_H_
#define GATHER_SERVICE_FETCH_ENGINE_STATS_H_

#include <atomic>
#include <cstdint>

namespace gather::fetch {

struct EngineStats {
  std::atomic<int64_t> inflight{0};  // transfers in flight (hedges included)
  std::atomic<int64_t> queued{0};    // jobs waiting for a slot, a token or a retry's time
  std::atomic<int64_t> started{0};   // transfers started (hedges and redirect hops excluded)
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> max_inflight_seen{0};
  std::atomic<int64_t> retries{0};         // retries scheduled
  std::atomic<int64_t> retries_denied{0};  // retries the budget refused
  std::atomic<int64_t> retries_waited{0};  // retries that waited for the budget
  std::atomic<int64_t> rate_waits{0};      // admissions deferred for a rate token
  std::atomic<int64_t> coalesced{0};       // jobs answered by an identical request's fetch
  std::atomic<int64_t> hedges{0};          // hedge transfers started
  std::atomic<int64_t> hedges_won{0};      // hedges that answered first
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_ENGINE_STATS_H_
