// Server configuration: one struct, filled from flags in main.cc, validated in one place.
#ifndef GATHER_SERVICE_CONFIG_CONFIG_H_
#define GATHER_SERVICE_CONFIG_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/config/defaults.h"
#include "service/policy/egress_policy.h"
#include "service/policy/host_rates.h"
#include "service/ratestore/quota.h"
#include "service/ratestore/redis_store.h"

namespace gather::config {

// Per-RPC defaults and the bounds a request may not exceed.
struct Limits {
  absl::Duration default_timeout = absl::Seconds(kDefaultTimeoutSeconds);
  absl::Duration max_timeout = absl::Seconds(kDefaultMaxTimeoutSeconds);
  int default_concurrency = 50;
  int max_rpc_concurrency = kDefaultMaxRpcConcurrency;
  uint64_t default_max_body_bytes = 8u << 20;
  uint64_t max_body_bytes = kDefaultMaxBodyBytes;
  uint64_t max_jobs = kDefaultMaxJobs;  // jobs of one FetchAndRank (explicit or discovered)
  size_t max_url_length = kDefaultMaxUrlLength;
  size_t max_request_body_bytes = kDefaultMaxRequestBodyBytes;  // a request body once expanded
  size_t max_headers = 64;             // headers per request
  size_t max_header_bytes = 16 * 1024; // name + value of one header
  uint64_t max_keys_per_message = kDefaultMaxKeysPerMessage;  // keys in one BatchLookup message
  size_t max_fields = 256;             // fields (and required pointers) of one BatchLookup
  int default_attempts = kDefaultAttempts;  // transfers per job, retries included
  int max_attempts = kDefaultMaxAttempts;
  double max_rate = 100'000;           // bound of a request's policy.rate
};

inline constexpr int kMaxAutoEngineThreads = 4;

// The raw values of gatherd's flags, before validation.
struct Flags {
  std::string listen = kDefaultListen;
  std::string egress_allow;
  std::string egress_deny;
  std::string egress_allow_hosts;
  std::string egress_deny_hosts;
  int max_rpcs = kDefaultMaxRpcs;
  uint64_t max_queued_jobs = kDefaultMaxQueuedJobs;
  int max_inflight = kDefaultMaxInflight;
  int max_per_host = kDefaultMaxPerHost;
  int engine_threads = 0;  // 0: one per CPU, at most kMaxAutoEngineThreads
  int max_rpc_concurrency = kDefaultMaxRpcConcurrency;
  int follow_redirects = kDefaultFollowRedirects;
  double default_timeout_seconds = kDefaultTimeoutSeconds;
  double max_timeout_seconds = kDefaultMaxTimeoutSeconds;
  uint64_t max_body_bytes = kDefaultMaxBodyBytes;
  uint64_t max_jobs = kDefaultMaxJobs;
  uint64_t max_keys_per_message = kDefaultMaxKeysPerMessage;
  uint64_t max_url_length = kDefaultMaxUrlLength;
  uint64_t max_request_body_bytes = kDefaultMaxRequestBodyBytes;
  std::string ca_file;
  std::string tls_cert;        // PEM certificate chain of the gRPC port; "" : plaintext
  std::string tls_key;         // its private key
  std::string tls_client_ca;   // CA bundle for client certificates; "" : no mTLS
  std::string token_file;      // bearer tokens (auth::TokenSet::Parse format); "" : none
  std::string env_token;       // GATHERD_TOKEN
  std::string credentials_file;  // credential profiles (JSON); "" : none
  std::string host_rate;          // PATTERN=RATE[:BURST],...
  std::string rate_store;         // redis://... or unix://...; "" : none
  int rate_store_replicas = 1;
  double rate_store_timeout_ms = 250;
  std::string host_quota;         // PATTERN=LIMIT/day|hour[@ZONE],...
  int default_attempts = kDefaultAttempts;
  int max_attempts = kDefaultMaxAttempts;
  double retry_budget_ratio = kDefaultRetryBudgetRatio;
  double retry_budget_min_per_second = kDefaultRetryBudgetMinPerSecond;
  double max_retry_after_seconds = kDefaultMaxRetryAfterSeconds;
  double coalesce_window_seconds = kDefaultCoalesceWindowSeconds;
};

struct Config {
  std::string listen;
  int max_rpcs = kDefaultMaxRpcs;
  uint64_t max_queued_jobs = kDefaultMaxQueuedJobs;
  int max_inflight = kDefaultMaxInflight;
  int max_per_host = kDefaultMaxPerHost;
  int engine_threads = 1;  // resolved: >= 1
  int follow_redirects = kDefaultFollowRedirects;
  std::string ca_file;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  std::string token_file;
  std::string env_token;
  std::string credentials_file;
  std::vector<policy::Cidr> egress_allow;
  std::vector<policy::Cidr> egress_deny;
  policy::HostPatterns egress_allow_hosts;
  policy::HostPatterns egress_deny_hosts;
  std::vector<policy::HostRate> host_rates;
  std::optional<ratestore::RedisOptions> rate_store;
  std::vector<ratestore::HostQuota> host_quotas;
  double retry_budget_ratio = kDefaultRetryBudgetRatio;
  double retry_budget_min_per_second = kDefaultRetryBudgetMinPerSecond;
  absl::Duration max_retry_after = absl::Seconds(kDefaultMaxRetryAfterSeconds);
  absl::Duration coalesce_window = absl::Seconds(kDefaultCoalesceWindowSeconds);
  Limits limits;
};

// Validates `flags`; INVALID_ARGUMENT names the flag at fault.
absl::StatusOr<Config> LoadConfig(const Flags& flags);

}  // namespace gather::config

#endif  // GATHER_SERVICE_CONFIG_CONFIG_H_
