// gatherd's defaults, written once: the flags (main.cc), the configuration structs (config.h) and
// the engine's options (fetch/curl_engine.h) all start from these. Constants only, no
// dependencies, so any layer may include it.
#ifndef GATHER_SERVICE_CONFIG_DEFAULTS_H_
#define GATHER_SERVICE_CONFIG_DEFAULTS_H_

#include <cstdint>

namespace gather::config {

inline constexpr char kDefaultListen[] = "127.0.0.1:50051";
inline constexpr int kDefaultMaxRpcs = 64;                  // RPCs served at once
inline constexpr uint64_t kDefaultMaxQueuedJobs = 1'000'000;
inline constexpr int kDefaultMaxInflight = 2000;            // transfers over all RPCs
inline constexpr int kDefaultMaxPerHost = 1000;             // transfers to one host
inline constexpr int kDefaultMaxRpcConcurrency = 1000;      // bound of policy.concurrency
inline constexpr int kDefaultFollowRedirects = 0;           // 0: a 3xx ends the job
inline constexpr double kDefaultTimeoutSeconds = 10;        // per job, when a request gives none
inline constexpr double kDefaultMaxTimeoutSeconds = 300;    // bound of a request's timeout
inline constexpr uint64_t kDefaultMaxBodyBytes = 64u << 20; // bound of a request's body cap
inline constexpr uint64_t kDefaultMaxJobs = 1'000'000;      // jobs of one FetchAndRank
inline constexpr uint64_t kDefaultMaxKeysPerMessage = 10'000;
inline constexpr uint64_t kDefaultMaxUrlLength = 8192;
inline constexpr uint64_t kDefaultMaxRequestBodyBytes = 1u << 20;  // an expanded request body
inline constexpr int kDefaultAttempts = 3;                  // transfers per job, retries included
inline constexpr int kDefaultMaxAttempts = 10;              // bound of policy.max_attempts
inline constexpr double kDefaultRetryBudgetRatio = 0.2;     // retries per first attempt, per host
inline constexpr double kDefaultRetryBudgetMinPerSecond = 10;
inline constexpr double kDefaultMaxRetryAfterSeconds = 60;  // a longer Retry-After ends the job
inline constexpr double kDefaultCoalesceWindowSeconds = 1;

}  // namespace gather::config

#endif  // GATHER_SERVICE_CONFIG_DEFAULTS_H_
