#include "service/policy/host_rates.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gather::policy {

absl::StatusOr<std::vector<HostRate>> ParseHostRates(absl::string_view text) {
  std::vector<HostRate> rates;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("\"", entry, "\": ", why));
    };
    size_t equals = entry.find('=');
    if (equals == absl::string_view::npos || equals == 0) return bad("expected PATTERN=RATE[:BURST]");
    HostRate rate;
    rate.pattern = absl::AsciiStrToLower(entry.substr(0, equals));
    absl::string_view value = entry.substr(equals + 1);
    absl::string_view burst;
    if (size_t colon = value.find(':'); colon != absl::string_view::npos) {
      burst = value.substr(colon + 1);
      value = value.substr(0, colon);
    }
    if (!absl::SimpleAtod(value, &rate.rate) || !std::isfinite(rate.rate) || rate.rate <= 0) {
      return bad("the rate must be a positive number of requests per second");
    }
    if (!burst.empty() &&
        (!absl::SimpleAtod(burst, &rate.burst) || !std::isfinite(rate.burst) || rate.burst < 1)) {
      return bad("the burst must be a number >= 1");
    }
    if (rate.pattern != "*" && rate.pattern.find('*') != std::string::npos &&
        !(absl::StartsWith(rate.pattern, "*.") && rate.pattern.find('*', 1) == std::string::npos)) {
      return bad("a pattern is a host, \"*.suffix\" or \"*\"");
    }
    rates.push_back(std::move(rate));
  }
  return rates;
}

std::optional<HostRate> MatchHostRate(const std::vector<HostRate>& rates, absl::string_view host) {
  const HostRate* best = nullptr;
  size_t best_length = 0;
  const HostRate* fallback = nullptr;
  for (const HostRate& rate : rates) {
    if (rate.pattern == host) return rate;
    if (rate.pattern == "*") {
      fallback = &rate;
    } else if (absl::StartsWith(rate.pattern, "*.")) {
      absl::string_view suffix = absl::string_view(rate.pattern).substr(1);  // ".example.org"
      if (absl::EndsWith(host, suffix) && host.size() > suffix.size() &&
          suffix.size() > best_length) {
        best = &rate;
        best_length = suffix.size();
      }
    }
  }
  if (best != nullptr) return *best;
  if (fallback != nullptr) return *fallback;
  return std::nullopt;
}

}  // namespace gather::policy
