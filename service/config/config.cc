#include "service/config/config.h"

#include <algorithm>
#include <thread>

#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gather::config {
namespace {

absl::Status Positive(absl::string_view flag, double value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " must be positive, got ", value));
}

}  // namespace

absl::StatusOr<Config> LoadConfig(const Flags& flags) {
  Config config;
  if (flags.listen.empty() || flags.listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--listen must be HOST:PORT or unix:PATH");
  }
  config.listen = flags.listen;
  for (auto [name, value] : {std::pair<absl::string_view, double>{"max_rpcs", flags.max_rpcs},
                             {"max_inflight", flags.max_inflight},
                             {"max_per_host", flags.max_per_host},
                             {"max_rpc_concurrency", flags.max_rpc_concurrency},
                             {"default_timeout", flags.default_timeout_seconds},
                             {"max_timeout", flags.max_timeout_seconds},
                             {"max_body_bytes", static_cast<double>(flags.max_body_bytes)},
                             {"max_jobs", static_cast<double>(flags.max_jobs)},
                             {"max_keys_per_message", static_cast<double>(flags.max_keys_per_message)},
                             {"max_url_length", static_cast<double>(flags.max_url_length)},
                             {"max_request_body_bytes",
                              static_cast<double>(flags.max_request_body_bytes)}}) {
    if (absl::Status status = Positive(name, value); !status.ok()) return status;
  }
  if (flags.max_attempts < 1 || flags.max_attempts > 100) {
    return absl::InvalidArgumentError("--max_attempts must be between 1 and 100");
  }
  if (flags.default_attempts < 1 || flags.default_attempts > flags.max_attempts) {
    return absl::InvalidArgumentError("--default_attempts must be between 1 and --max_attempts");
  }
  if (!(flags.retry_budget_ratio >= 0 && flags.retry_budget_ratio <= 10)) {
    return absl::InvalidArgumentError("--retry_budget_ratio must be between 0 and 10");
  }
  if (!(flags.retry_budget_min_per_second >= 0 && flags.retry_budget_min_per_second <= 1e6)) {
    return absl::InvalidArgumentError("--retry_budget_min_per_second must be between 0 and 1e6");
  }
  if (!(flags.max_retry_after_seconds >= 0 && flags.max_retry_after_seconds <= 86400)) {
    return absl::InvalidArgumentError("--max_retry_after must be between 0 and 86400 seconds");
  }
  auto host_rates = policy::ParseHostRates(flags.host_rate);
  if (!host_rates.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--host_rate: ", host_rates.status().message()));
  }
  config.host_rates = *std::move(host_rates);
  if (!flags.rate_store.empty()) {
    auto store = ratestore::ParseRedisUrl(flags.rate_store);
    if (!store.ok()) return store.status();
    if (flags.rate_store_replicas < 1 || flags.rate_store_replicas > 10000) {
      return absl::InvalidArgumentError("--rate_store_replicas must be between 1 and 10000");
    }
    if (!(flags.rate_store_timeout_ms >= 1 && flags.rate_store_timeout_ms <= 10000)) {
      return absl::InvalidArgumentError("--rate_store_timeout_ms must be between 1 and 10000");
    }
    store->replicas = flags.rate_store_replicas;
    store->timeout = absl::Milliseconds(flags.rate_store_timeout_ms);
    config.rate_store = *std::move(store);
  }
  auto quotas = ratestore::ParseHostQuotas(flags.host_quota);
  if (!quotas.ok()) return quotas.status();
  config.host_quotas = *std::move(quotas);
  config.retry_budget_ratio = flags.retry_budget_ratio;
  config.retry_budget_min_per_second = flags.retry_budget_min_per_second;
  config.max_retry_after = absl::Seconds(flags.max_retry_after_seconds);
  if (!(flags.coalesce_window_seconds >= 0 && flags.coalesce_window_seconds <= 3600)) {
    return absl::InvalidArgumentError("--coalesce_window must be between 0 and 3600 seconds");
  }
  config.coalesce_window = absl::Seconds(flags.coalesce_window_seconds);
  config.limits.default_attempts = flags.default_attempts;
  config.limits.max_attempts = flags.max_attempts;
  if (flags.follow_redirects < 0 || flags.follow_redirects > 20) {
    return absl::InvalidArgumentError("--follow_redirects must be between 0 and 20");
  }
  if (flags.default_timeout_seconds > flags.max_timeout_seconds) {
    return absl::InvalidArgumentError("--default_timeout may not exceed --max_timeout");
  }
  auto allow = policy::ParseCidrList(flags.egress_allow);
  if (!allow.ok()) return absl::InvalidArgumentError(absl::StrCat("--egress_allow: ", allow.status().message()));
  auto deny = policy::ParseCidrList(flags.egress_deny);
  if (!deny.ok()) return absl::InvalidArgumentError(absl::StrCat("--egress_deny: ", deny.status().message()));
  auto allow_hosts = policy::HostPatterns::Parse(flags.egress_allow_hosts);
  if (!allow_hosts.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--egress_allow_hosts: ", allow_hosts.status().message()));
  }
  auto deny_hosts = policy::HostPatterns::Parse(flags.egress_deny_hosts);
  if (!deny_hosts.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--egress_deny_hosts: ", deny_hosts.status().message()));
  }
  config.egress_allow_hosts = *std::move(allow_hosts);
  config.egress_deny_hosts = *std::move(deny_hosts);
  config.egress_allow = *std::move(allow);
  config.egress_deny = *std::move(deny);
  config.max_rpcs = flags.max_rpcs;
  if (flags.max_queued_jobs == 0) return absl::InvalidArgumentError("--max_queued_jobs must be positive");
  config.max_queued_jobs = flags.max_queued_jobs;
  config.max_inflight = flags.max_inflight;
  config.max_per_host = flags.max_per_host;
  if (flags.engine_threads < 0 || flags.engine_threads > 64) {
    return absl::InvalidArgumentError("--engine_threads must be between 0 (one per CPU) and 64");
  }
  config.engine_threads = flags.engine_threads;
  if (config.engine_threads == 0) {
    config.engine_threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                                       kMaxAutoEngineThreads);
  }
  // Every loop needs at least one transfer of each cap.
  config.engine_threads =
      std::min({config.engine_threads, config.max_inflight, config.max_per_host});
  config.follow_redirects = flags.follow_redirects;
  config.ca_file = flags.ca_file;
  if (!flags.ca_file.empty() && access(flags.ca_file.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("--ca_file: cannot read ", flags.ca_file));
  }
  if (flags.tls_cert.empty() != flags.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (!flags.tls_client_ca.empty() && flags.tls_cert.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca (mTLS) needs --tls_cert and --tls_key");
  }
  for (auto [name, path] : {std::pair<absl::string_view, const std::string&>{"tls_cert", flags.tls_cert},
                            {"tls_key", flags.tls_key},
                            {"tls_client_ca", flags.tls_client_ca}}) {
    if (!path.empty() && access(path.c_str(), R_OK) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": cannot read ", path));
    }
  }
  config.tls_cert = flags.tls_cert;
  config.tls_key = flags.tls_key;
  config.tls_client_ca = flags.tls_client_ca;
  config.token_file = flags.token_file;
  config.env_token = flags.env_token;
  config.credentials_file = flags.credentials_file;
  config.limits.max_rpc_concurrency = flags.max_rpc_concurrency;
  config.limits.default_concurrency = std::min(config.limits.default_concurrency, flags.max_rpc_concurrency);
  config.limits.default_timeout = absl::Seconds(flags.default_timeout_seconds);
  config.limits.max_timeout = absl::Seconds(flags.max_timeout_seconds);
  config.limits.max_body_bytes = flags.max_body_bytes;
  config.limits.default_max_body_bytes = std::min<uint64_t>(8u << 20, flags.max_body_bytes);
  config.limits.max_jobs = flags.max_jobs;
  config.limits.max_keys_per_message = flags.max_keys_per_message;
  config.limits.max_url_length = flags.max_url_length;
  config.limits.max_request_body_bytes = flags.max_request_body_bytes;
  return config;
}

}  // namespace gather::config
