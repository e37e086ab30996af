#include "service/observe/metrics.h"

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "prometheus/family.h"

namespace gather::observe {
namespace {

constexpr const char* kMethodNames[kMethods] = {"FetchAndRank", "BatchLookup"};
constexpr const char* kCodeNames[kGrpcCodes] = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};

// Upstream transfer times: 1 ms .. 60 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

prometheus::MetricFamily Family(const std::string& name, const std::string& help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

void AddValue(prometheus::MetricFamily& family, double value,
              std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

}  // namespace

absl::string_view GrpcCodeName(int code) {
  return code >= 0 && code < kGrpcCodes ? kCodeNames[code] : "UNKNOWN";
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& rpcs = prometheus::BuildCounter()
                   .Name("gather_rpcs_total")
                   .Help("Gather RPCs ended, by method and gRPC status code")
                   .Register(*registry_);
  auto& rpc_seconds = prometheus::BuildHistogram()
                          .Name("gather_rpc_duration_seconds")
                          .Help("Wall time of Gather RPCs")
                          .Register(*registry_);
  auto& jobs = prometheus::BuildCounter()
                   .Name("gather_jobs_total")
                   .Help("Jobs (URLs or keys) finished, by method and final status")
                   .Register(*registry_);
  auto& bytes = prometheus::BuildCounter()
                    .Name("gather_response_bytes_total")
                    .Help("Response body bytes received (decompressed), by method")
                    .Register(*registry_);
  for (int m = 0; m < kMethods; ++m) {
    for (int c = 0; c < kGrpcCodes; ++c) {
      rpcs_[m][c] = &rpcs.Add({{"method", kMethodNames[m]}, {"code", kCodeNames[c]}});
    }
    rpc_seconds_[m] = &rpc_seconds.Add(
        {{"method", kMethodNames[m]}},
        prometheus::Histogram::BucketBoundaries{0.01, 0.1, 1, 10, 60, 300, 1800, 7200});
    for (int s = v1::JobStatus_MIN + 1; s <= v1::JobStatus_MAX; ++s) {
      std::string name(absl::StripPrefix(v1::JobStatus_Name(static_cast<v1::JobStatus>(s)),
                                         "JOB_STATUS_"));
      jobs_[m][s] = &jobs.Add({{"method", kMethodNames[m]}, {"status", name}});
    }
    bytes_[m] = &bytes.Add({{"method", kMethodNames[m]}});
  }
  upstream_seconds_ = &prometheus::BuildHistogram()
                           .Name("gather_upstream_latency_seconds")
                           .Help("Duration of the last transfer of each job that made one, "
                                 "from its start to its end")
                           .Register(*registry_)
                           .Add({}, LatencyBuckets());
  transfers_ = &prometheus::BuildCounter()
                    .Name("gather_job_transfers_total")
                    .Help("Transfers made for finished jobs, retries and hedges included")
                    .Register(*registry_)
                    .Add({});
}

void Metrics::RpcDone(Method method, int code, absl::Duration wall) {
  int m = static_cast<int>(method);
  if (code < 0 || code >= kGrpcCodes) code = 2;  // UNKNOWN
  rpcs_[m][code]->Increment();
  rpc_seconds_[m]->Observe(absl::ToDoubleSeconds(wall));
}

void Metrics::JobDone(Method method, v1::JobStatus status, absl::Duration transfer_latency,
                      uint32_t attempts, uint64_t bytes) {
  int m = static_cast<int>(method);
  if (status > v1::JobStatus_MIN && status <= v1::JobStatus_MAX) jobs_[m][status]->Increment();
  if (bytes > 0) bytes_[m]->Increment(static_cast<double>(bytes));
  if (attempts > 0) {
    transfers_->Increment(attempts);
    if (transfer_latency >= absl::ZeroDuration()) {
      upstream_seconds_->Observe(absl::ToDoubleSeconds(transfer_latency));
    }
  }
}

std::vector<prometheus::MetricFamily> EngineCollector::Collect() const {
  using prometheus::MetricType;
  const EngineSnapshot stats = snapshot_();
  std::vector<prometheus::MetricFamily> out;
  auto gauge = [&](const char* name, const char* help, double value) {
    out.push_back(Family(name, help, MetricType::Gauge));
    AddValue(out.back(), value);
  };
  auto counter = [&](const char* name, const char* help, double value) {
    out.push_back(Family(name, help, MetricType::Counter));
    AddValue(out.back(), value);
  };
  gauge("gather_rpcs_active", "Gather RPCs in progress", active_rpcs_->load());
  gauge("gather_transfers_inflight", "HTTP transfers in flight", stats.inflight);
  gauge("gather_jobs_queued", "Jobs waiting for a transfer slot, a rate token or a retry",
        stats.queued);
  counter("gather_transfers_started_total", "HTTP transfers started", stats.started);
  counter("gather_retries_total", "Retries scheduled", stats.retries);
  counter("gather_retries_denied_total", "Retries the retry budget refused",
          stats.retries_denied);
  counter("gather_retries_waited_total",
          "Retries that waited for the retry budget instead of failing",
          stats.retries_waited);
  counter("gather_rate_limit_waits_total", "Transfers deferred to wait for a rate token",
          stats.rate_waits);
  counter("gather_coalesced_jobs_total", "Jobs answered by an identical request's fetch",
          stats.coalesced);
  counter("gather_hedges_total", "Hedge transfers started", stats.hedges);
  counter("gather_hedges_won_total", "Hedge transfers that answered first",
          stats.hedges_won);
  out.push_back(Family("gather_host_rate",
                       "Requests per second allowed to a host now (adaptive or configured)",
                       MetricType::Gauge));
  for (const auto& [host, rate] : stats.host_rates) {
    AddValue(out.back(), rate, {{"host", host}});
  }
  if (stats.has_rate_store) {
    gauge("gather_rate_store_up", "1 while --rate_store answers, 0 while budgets are local",
          stats.rate_store_up ? 1 : 0);
    counter("gather_rate_store_fallback_leases_total",
            "Token leases decided locally because --rate_store did not answer",
            static_cast<double>(stats.rate_store_fallback_leases));
  }
  if (!stats.quota_left.empty()) {
    out.push_back(Family("gather_quota_left",
                         "Requests left in a host's quota period (--host_quota), as last leased",
                         MetricType::Gauge));
    for (const auto& [host, left] : stats.quota_left) {
      AddValue(out.back(), static_cast<double>(left), {{"host", host}});
    }
  }
  return out;
}

}  // namespace gather::observe
