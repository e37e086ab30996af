// gatherd's command-line flags, defined by topic in service/flags/*_flags.cc (so `gatherd --help`
// lists them grouped under those file names), and what main.cc does with them: the environment
// (GATHERD_<FLAG>), the --help output, and the raw config::Flags they add up to.
#ifndef GATHER_SERVICE_FLAGS_FLAGS_H_
#define GATHER_SERVICE_FLAGS_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "service/config/config.h"

// server_flags.cc
ABSL_DECLARE_FLAG(std::string, listen);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(std::string, metrics_listen);
ABSL_DECLARE_FLAG(int, max_rpcs);
ABSL_DECLARE_FLAG(int, engine_threads);
ABSL_DECLARE_FLAG(double, shutdown_grace);
ABSL_DECLARE_FLAG(double, keepalive_time);
ABSL_DECLARE_FLAG(double, max_connection_age);
ABSL_DECLARE_FLAG(double, max_connection_age_grace);
// egress_flags.cc
ABSL_DECLARE_FLAG(std::string, egress_allow);
ABSL_DECLARE_FLAG(std::string, egress_deny);
ABSL_DECLARE_FLAG(std::string, egress_allow_hosts);
ABSL_DECLARE_FLAG(std::string, egress_deny_hosts);
ABSL_DECLARE_FLAG(int, follow_redirects);
ABSL_DECLARE_FLAG(std::string, ca_file);
// limits_flags.cc
ABSL_DECLARE_FLAG(uint64_t, max_queued_jobs);
ABSL_DECLARE_FLAG(int, max_inflight);
ABSL_DECLARE_FLAG(int, max_per_host);
ABSL_DECLARE_FLAG(int, max_rpc_concurrency);
ABSL_DECLARE_FLAG(double, default_timeout);
ABSL_DECLARE_FLAG(double, max_timeout);
ABSL_DECLARE_FLAG(uint64_t, max_body_bytes);
ABSL_DECLARE_FLAG(uint64_t, max_jobs);
ABSL_DECLARE_FLAG(uint64_t, max_keys_per_message);
ABSL_DECLARE_FLAG(uint64_t, max_url_length);
ABSL_DECLARE_FLAG(uint64_t, max_request_body_bytes);
ABSL_DECLARE_FLAG(std::string, host_rate);
ABSL_DECLARE_FLAG(std::string, rate_store);
ABSL_DECLARE_FLAG(int, rate_store_replicas);
ABSL_DECLARE_FLAG(double, rate_store_timeout_ms);
ABSL_DECLARE_FLAG(std::string, host_quota);
ABSL_DECLARE_FLAG(int, default_attempts);
ABSL_DECLARE_FLAG(int, max_attempts);
ABSL_DECLARE_FLAG(double, retry_budget_ratio);
ABSL_DECLARE_FLAG(double, retry_budget_min_per_second);
ABSL_DECLARE_FLAG(double, max_retry_after);
ABSL_DECLARE_FLAG(double, coalesce_window);
// security_flags.cc
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(std::string, tls_client_ca);
ABSL_DECLARE_FLAG(std::string, token_file);
ABSL_DECLARE_FLAG(std::string, credentials_file);

namespace gather::flags {

// Makes `--help` (and --helpfull) list every flag of service/flags/, grouped by file, with the
// file names relative to the source tree. Call before absl::ParseCommandLine.
void InstallUsageConfig();

// GATHERD_<NAME> in the environment sets --<name> (call before the command line is parsed, so the
// command line wins). An unparsable value is an error naming the variable.
absl::Status ApplyEnvironmentFlags();

// The values of the flags config::LoadConfig validates (GATHERD_TOKEN included).
config::Flags ReadConfigFlags();

}  // namespace gather::flags

#endif  // GATHER_SERVICE_FLAGS_FLAGS_H_
