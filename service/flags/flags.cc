#include "service/flags/flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gather::flags {
namespace {

constexpr absl::string_view kFlagsDir = "service/flags/";

// "service/flags/limits_flags.cc" for any path ending so; other paths unchanged.
std::string RelativeToSource(absl::string_view path) {
  size_t at = path.rfind(kFlagsDir);
  return std::string(at == absl::string_view::npos ? path : path.substr(at));
}

bool IsOurs(absl::string_view path) { return absl::StrContains(path, kFlagsDir); }

}  // namespace

void InstallUsageConfig() {
  absl::FlagsUsageConfig config;
  config.contains_helpshort_flags = IsOurs;
  config.contains_help_flags = IsOurs;
  config.normalize_filename = RelativeToSource;
  absl::SetFlagsUsageConfig(config);
}

absl::Status ApplyEnvironmentFlags() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    std::string variable = absl::StrCat("GATHERD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(variable, ": ", error));
    }
  }
  return absl::OkStatus();
}

config::Flags ReadConfigFlags() {
  config::Flags flags;
  flags.listen = absl::GetFlag(FLAGS_listen);
  flags.egress_allow = absl::GetFlag(FLAGS_egress_allow);
  flags.egress_deny = absl::GetFlag(FLAGS_egress_deny);
  flags.egress_allow_hosts = absl::GetFlag(FLAGS_egress_allow_hosts);
  flags.egress_deny_hosts = absl::GetFlag(FLAGS_egress_deny_hosts);
  flags.max_rpcs = absl::GetFlag(FLAGS_max_rpcs);
  flags.max_queued_jobs = absl::GetFlag(FLAGS_max_queued_jobs);
  flags.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  flags.engine_threads = absl::GetFlag(FLAGS_engine_threads);
  flags.max_per_host = absl::GetFlag(FLAGS_max_per_host);
  flags.max_rpc_concurrency = absl::GetFlag(FLAGS_max_rpc_concurrency);
  flags.follow_redirects = absl::GetFlag(FLAGS_follow_redirects);
  flags.default_timeout_seconds = absl::GetFlag(FLAGS_default_timeout);
  flags.max_timeout_seconds = absl::GetFlag(FLAGS_max_timeout);
  flags.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  flags.max_jobs = absl::GetFlag(FLAGS_max_jobs);
  flags.max_keys_per_message = absl::GetFlag(FLAGS_max_keys_per_message);
  flags.max_url_length = absl::GetFlag(FLAGS_max_url_length);
  flags.max_request_body_bytes = absl::GetFlag(FLAGS_max_request_body_bytes);
  flags.ca_file = absl::GetFlag(FLAGS_ca_file);
  flags.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  flags.tls_key = absl::GetFlag(FLAGS_tls_key);
  flags.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  flags.token_file = absl::GetFlag(FLAGS_token_file);
  flags.credentials_file = absl::GetFlag(FLAGS_credentials_file);
  if (const char* token = std::getenv("GATHERD_TOKEN"); token != nullptr) flags.env_token = token;
  flags.host_rate = absl::GetFlag(FLAGS_host_rate);
  flags.rate_store = absl::GetFlag(FLAGS_rate_store);
  flags.rate_store_replicas = absl::GetFlag(FLAGS_rate_store_replicas);
  flags.rate_store_timeout_ms = absl::GetFlag(FLAGS_rate_store_timeout_ms);
  flags.host_quota = absl::GetFlag(FLAGS_host_quota);
  flags.default_attempts = absl::GetFlag(FLAGS_default_attempts);
  flags.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  flags.retry_budget_ratio = absl::GetFlag(FLAGS_retry_budget_ratio);
  flags.retry_budget_min_per_second = absl::GetFlag(FLAGS_retry_budget_min_per_second);
  flags.max_retry_after_seconds = absl::GetFlag(FLAGS_max_retry_after);
  flags.coalesce_window_seconds = absl::GetFlag(FLAGS_coalesce_window);
  return flags;
}

}  // namespace gather::flags
