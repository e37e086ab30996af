#include "service/ratestore/quota.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gather::ratestore {

absl::StatusOr<std::vector<HostQuota>> ParseHostQuotas(absl::string_view text) {
  std::vector<HostQuota> quotas;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("--host_quota: \"", entry, "\": ", why,
                       " (expected HOST=LIMIT/day or /hour, optionally @Time/Zone)"));
    };
    std::pair<absl::string_view, absl::string_view> host_rest = absl::StrSplit(entry, '=');
    if (host_rest.first.empty() || host_rest.second.empty()) return bad("no HOST=LIMIT");
    HostQuota quota;
    quota.pattern = absl::AsciiStrToLower(absl::StripAsciiWhitespace(host_rest.first));
    absl::string_view rest = host_rest.second;
    if (size_t at = rest.find('@'); at != absl::string_view::npos) {
      quota.zone = std::string(rest.substr(at + 1));
      rest = rest.substr(0, at);
      if (!absl::LoadTimeZone(quota.zone, &quota.tz)) return bad("unknown time zone");
    }
    std::pair<absl::string_view, absl::string_view> limit_period = absl::StrSplit(rest, '/');
    if (!absl::SimpleAtoi(limit_period.first, &quota.limit) || quota.limit < 0) {
      return bad("the limit is not a whole number");
    }
    if (limit_period.second == "day") {
      quota.period = QuotaPeriod::kDay;
    } else if (limit_period.second == "hour") {
      quota.period = QuotaPeriod::kHour;
    } else {
      return bad("the period is not day or hour");
    }
    quotas.push_back(std::move(quota));
  }
  return quotas;
}

std::optional<HostQuota> MatchHostQuota(const std::vector<HostQuota>& quotas,
                                        absl::string_view host) {
  const HostQuota* best = nullptr;
  size_t best_length = 0;
  const HostQuota* any = nullptr;
  for (const HostQuota& quota : quotas) {
    if (quota.pattern == host) return quota;
    if (quota.pattern == "*") {
      any = &quota;
    } else if (absl::StartsWith(quota.pattern, "*.") &&
               absl::EndsWith(host, quota.pattern.substr(1)) &&
               quota.pattern.size() > best_length) {
      best = &quota;
      best_length = quota.pattern.size();
    }
  }
  if (best != nullptr) return *best;
  if (any != nullptr) return *any;
  return std::nullopt;
}

QuotaWindow WindowAt(const HostQuota& quota, absl::Time now) {
  absl::TimeZone::CivilInfo civil = quota.tz.At(now);
  QuotaWindow window;
  if (quota.period == QuotaPeriod::kDay) {
    absl::CivilDay day(civil.cs);
    window.start = quota.tz.At(absl::CivilSecond(day)).pre;
    window.end = quota.tz.At(absl::CivilSecond(day + 1)).pre;
  } else {
    absl::CivilHour hour(civil.cs);
    window.start = quota.tz.At(absl::CivilSecond(hour)).pre;
    window.end = quota.tz.At(absl::CivilSecond(hour + 1)).pre;
  }
  window.id = absl::StrCat(absl::ToUnixSeconds(window.start));
  return window;
}

}  // namespace gather::ratestore
