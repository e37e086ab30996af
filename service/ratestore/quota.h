// Request quotas per host (--host_quota): "maps.googleapis.com=100000/day@America/Los_Angeles"
// (100,000 requests per day, the day starting at midnight in that time zone), "*.example=5000/hour"
// (UTC when no zone is given). A quota counts every request sent to the host, across replicas when
// a rate store is configured. Pure parsing, matching and window arithmetic.
#ifndef GATHER_SERVICE_RATESTORE_QUOTA_H_
#define GATHER_SERVICE_RATESTORE_QUOTA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gather::ratestore {

enum class QuotaPeriod { kHour, kDay };

struct HostQuota {
  std::string pattern;  // lower-case host, "*.suffix" or "*" (as --host_rate)
  int64_t limit = 0;    // requests per period
  QuotaPeriod period = QuotaPeriod::kDay;
  std::string zone = "UTC";  // IANA time zone name the period's boundaries are in
  absl::TimeZone tz = absl::UTCTimeZone();
};

// Parses a comma-separated list of PATTERN=LIMIT/(hour|day)[@ZONE]. INVALID_ARGUMENT says which
// entry and why (an unknown time zone included).
absl::StatusOr<std::vector<HostQuota>> ParseHostQuotas(absl::string_view text);

// The entry for `host`: exact, else the longest "*.suffix", else "*".
std::optional<HostQuota> MatchHostQuota(const std::vector<HostQuota>& quotas,
                                        absl::string_view host);

// The period containing `now`: [start, end), and a name for it that every replica computes alike
// (the start as seconds since the epoch).
struct QuotaWindow {
  absl::Time start;
  absl::Time end;
  std::string id;
};
QuotaWindow WindowAt(const HostQuota& quota, absl::Time now);

}  // namespace gather::ratestore

#endif  // GATHER_SERVICE_RATESTORE_QUOTA_H_
