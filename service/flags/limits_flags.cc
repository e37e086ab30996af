// gatherd's flags for what one call may ask for, and the server-wide caps on transfers, rates, retries and
// coalescing.
// `gatherd --help` lists them under this file's name.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "service/config/defaults.h"
#include "service/flags/flags.h"

ABSL_FLAG(uint64_t, max_queued_jobs, gather::config::kDefaultMaxQueuedJobs,
          "FetchAndRank jobs admitted server-wide and not yet finished; an RPC that would pass it "
          "gets RESOURCE_EXHAUSTED at once");
ABSL_FLAG(int, max_inflight, gather::config::kDefaultMaxInflight, "HTTP transfers in flight over all RPCs");
ABSL_FLAG(int, max_per_host, gather::config::kDefaultMaxPerHost, "HTTP transfers in flight to one host over all RPCs");
ABSL_FLAG(int, max_rpc_concurrency, gather::config::kDefaultMaxRpcConcurrency, "upper bound of a request's policy.concurrency");
ABSL_FLAG(double, default_timeout, gather::config::kDefaultTimeoutSeconds, "per-job timeout in seconds when a request gives none");
ABSL_FLAG(double, max_timeout, gather::config::kDefaultMaxTimeoutSeconds, "upper bound of a request's per-job timeout, seconds");
ABSL_FLAG(uint64_t, max_body_bytes, gather::config::kDefaultMaxBodyBytes, "upper bound of a request's body cap, bytes");
ABSL_FLAG(uint64_t, max_jobs, gather::config::kDefaultMaxJobs, "jobs of one FetchAndRank (explicit or discovered)");
ABSL_FLAG(uint64_t, max_keys_per_message, gather::config::kDefaultMaxKeysPerMessage, "keys in one BatchLookup request message");
ABSL_FLAG(uint64_t, max_url_length, gather::config::kDefaultMaxUrlLength, "longest URL fetched; longer keys end with INVALID_KEY");
ABSL_FLAG(uint64_t, max_request_body_bytes, gather::config::kDefaultMaxRequestBodyBytes,
          "longest request body sent (a BatchLookup spec.body once a key's values are in it); "
          "longer ones end the key with INVALID_KEY");
ABSL_FLAG(std::string, host_rate, "",
          "server-wide request rates per host: PATTERN=RATE[:BURST],... where PATTERN is a host, "
          "*.suffix or * (e.g. api.example.com=100:10,*=500); requests' own rates can only be lower");
ABSL_FLAG(std::string, rate_store, "",
          "share every host rate and quota with the other gatherds on this Redis: "
          "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH[?db=N] (empty: this "
          "process's budgets are its own)");
ABSL_FLAG(int, rate_store_replicas, 1,
          "while --rate_store is unreachable, each replica takes RATE / this (set it to the number "
          "of gatherd replicas)");
ABSL_FLAG(double, rate_store_timeout_ms, 250,
          "longest wait for --rate_store before deciding locally (and reconnecting within 1 s)");
ABSL_FLAG(std::string, host_quota, "",
          "requests per period per host: PATTERN=LIMIT/day|hour[@Time/Zone],... e.g. "
          "maps.googleapis.com=100000/day@America/Los_Angeles; when spent, jobs end RATE_LIMITED "
          "without a request (counted in --rate_store when set)");
ABSL_FLAG(int, default_attempts, gather::config::kDefaultAttempts, "transfers per job (retries included) when a request gives none");
ABSL_FLAG(int, max_attempts, gather::config::kDefaultMaxAttempts, "upper bound of a request's policy.max_attempts");
ABSL_FLAG(double, retry_budget_ratio, gather::config::kDefaultRetryBudgetRatio, "retries allowed per first attempt, per host");
ABSL_FLAG(double, retry_budget_min_per_second, gather::config::kDefaultRetryBudgetMinPerSecond, "retries allowed per second per host on top of the ratio");
ABSL_FLAG(double, max_retry_after, gather::config::kDefaultMaxRetryAfterSeconds, "seconds; a longer Retry-After ends the job instead of waiting");
ABSL_FLAG(double, coalesce_window, gather::config::kDefaultCoalesceWindowSeconds,
          "seconds an answer is also given to identical requests made after it arrived "
          "(0: only requests made while it was fetched)");
