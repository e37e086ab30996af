// gatherd's Prometheus metrics (prometheus-cpp). Metrics owns the registry and the counters the
// RPC layer updates; EngineCollector reads the fetch engine's own counters and gauges when the
// page is scraped, so the fetch loop pays nothing for them. main.cc exposes the registry on
// --metrics_listen. Every method is thread-safe (gRPC and engine threads call them).
#ifndef GATHER_SERVICE_OBSERVE_METRICS_H_
#define GATHER_SERVICE_OBSERVE_METRICS_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace gather::observe {

enum class Method { kFetchAndRank = 0, kBatchLookup = 1 };
inline constexpr int kMethods = 2;
inline constexpr int kGrpcCodes = 17;

// "OK", "CANCELLED", ... for a gRPC status code (0..16), "UNKNOWN" otherwise.
absl::string_view GrpcCodeName(int code);

class Metrics {
 public:
  Metrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // An RPC ended with gRPC status `code` (0..16) after `wall`.
  void RpcDone(Method method, int code, absl::Duration wall);
  // A job's final result (one per job; CANCELLED included). `transfer_latency` is the last
  // transfer's duration, or nullopt-like negative when the job made no transfer of its own.
  void JobDone(Method method, v1::JobStatus status, absl::Duration transfer_latency,
               uint32_t attempts, uint64_t bytes);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<std::array<prometheus::Counter*, kGrpcCodes>, kMethods> rpcs_{};
  std::array<prometheus::Histogram*, kMethods> rpc_seconds_{};
  std::array<std::array<prometheus::Counter*, v1::JobStatus_ARRAYSIZE>, kMethods> jobs_{};
  std::array<prometheus::Counter*, kMethods> bytes_{};
  prometheus::Histogram* upstream_seconds_ = nullptr;
  prometheus::Counter* transfers_ = nullptr;
};

// What the fetch engine reports at a scrape (observe does not know the engine's type: main.cc
// fills this in from it).
struct EngineSnapshot {
  int64_t inflight = 0;
  int64_t queued = 0;
  int64_t started = 0;
  int64_t retries = 0;
  int64_t retries_denied = 0;
  int64_t retries_waited = 0;
  int64_t rate_waits = 0;
  int64_t coalesced = 0;
  int64_t hedges = 0;
  int64_t hedges_won = 0;
  std::vector<std::pair<std::string, double>> host_rates;  // requests/s allowed per host now
  // With --rate_store: whether it answers, and leases decided locally because it did not.
  bool has_rate_store = false;
  bool rate_store_up = false;
  int64_t rate_store_fallback_leases = 0;
  std::vector<std::pair<std::string, int64_t>> quota_left;  // per host with --host_quota
};

// Engine counters and gauges, read at scrape time: transfers in flight, queued jobs, retries,
// rate-limit waits, coalesced jobs, hedges, the rate in force per host, and calls in progress.
// `snapshot` is called on the scraping thread.
class EngineCollector : public prometheus::Collectable {
 public:
  EngineCollector(std::function<EngineSnapshot()> snapshot, const std::atomic<int>* active_rpcs)
      : snapshot_(std::move(snapshot)), active_rpcs_(active_rpcs) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<EngineSnapshot()> snapshot_;
  const std::atomic<int>* active_rpcs_;
};

}  // namespace gather::observe

#endif  // GATHER_SERVICE_OBSERVE_METRICS_H_
