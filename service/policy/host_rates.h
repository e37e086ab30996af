// Server-wide request rates per host pattern (--host_rate): "api.example.com=100:10" (100 req/s,
// burst 10), "*.example.org=50" (any subdomain; default burst), "*=200" (every other host).
// Pure parsing and matching.
#ifndef GATHER_SERVICE_POLICY_HOST_RATES_H_
#define GATHER_SERVICE_POLICY_HOST_RATES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gather::policy {

struct HostRate {
  std::string pattern;  // lower-case host, "*.suffix" or "*"
  double rate = 0;      // requests per second
  double burst = 0;     // 0: TokenBucket::DefaultBurst(rate)
};

// Parses a comma-separated list of PATTERN=RATE[:BURST]. INVALID_ARGUMENT says which entry.
absl::StatusOr<std::vector<HostRate>> ParseHostRates(absl::string_view text);

// The entry for `host`: an exact match, else the longest "*.suffix" that matches, else "*".
std::optional<HostRate> MatchHostRate(const std::vector<HostRate>& rates, absl::string_view host);

}  // namespace gather::policy

#endif  // GATHER_SERVICE_POLICY_HOST_RATES_H_
