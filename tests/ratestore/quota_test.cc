#include "service/ratestore/quota.h"

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "service/ratestore/local_budget.h"

namespace gather::ratestore {
namespace {

TEST(QuotaTest, ParsesLimitsPeriodsAndZones) {
  auto quotas = ParseHostQuotas(
      "maps.googleapis.com=100000/day@America/Los_Angeles, *.example=5000/hour");
  ASSERT_TRUE(quotas.ok()) << quotas.status();
  ASSERT_EQ(quotas->size(), 2u);
  EXPECT_EQ((*quotas)[0].pattern, "maps.googleapis.com");
  EXPECT_EQ((*quotas)[0].limit, 100000);
  EXPECT_EQ((*quotas)[0].period, QuotaPeriod::kDay);
  EXPECT_EQ((*quotas)[0].zone, "America/Los_Angeles");
  EXPECT_EQ((*quotas)[1].period, QuotaPeriod::kHour);
  EXPECT_EQ((*quotas)[1].zone, "UTC");
  for (const char* bad : {"x", "h=10", "h=10/week", "h=ten/day", "h=10/day@Mars/Olympus"}) {
    auto refused = ParseHostQuotas(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("--host_quota"), std::string::npos);
  }
  EXPECT_EQ(MatchHostQuota(*quotas, "a.example")->limit, 5000);
  EXPECT_FALSE(MatchHostQuota(*quotas, "other.org").has_value());
}

TEST(QuotaTest, ADayStartsAtMidnightInItsZone) {
  auto quotas = ParseHostQuotas("h=10/day@America/Los_Angeles");
  ASSERT_TRUE(quotas.ok());
  absl::TimeZone la = (*quotas)[0].tz;
  // 2026-07-01 06:30 UTC is 23:30 on June 30 in Los Angeles (PDT, UTC-7).
  absl::Time now = absl::FromCivil(absl::CivilSecond(2026, 7, 1, 6, 30, 0), absl::UTCTimeZone());
  QuotaWindow window = WindowAt((*quotas)[0], now);
  EXPECT_EQ(window.start, absl::FromCivil(absl::CivilSecond(2026, 6, 30, 0, 0, 0), la));
  EXPECT_EQ(window.end, absl::FromCivil(absl::CivilSecond(2026, 7, 1, 0, 0, 0), la));
  EXPECT_EQ(window.end - now, absl::Minutes(30));
  // An hour later it is the next day there: another window.
  EXPECT_NE(WindowAt((*quotas)[0], now + absl::Hours(1)).id, window.id);
}

TEST(LocalBudgetTest, SplitsTheRateAmongReplicasAndCountsTheQuota) {
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  LocalBudget budget(/*replicas=*/3);
  LeaseRequest request;
  request.host = "api";
  request.rate = 300;  // 100 per second for this replica
  request.burst = 30;  // 10 for this replica
  request.want = 50;
  LeaseReply first = budget.Lease(request, t0);
  EXPECT_FALSE(first.shared);
  EXPECT_EQ(first.granted, 10);
  LeaseReply empty = budget.Lease(request, t0);
  EXPECT_EQ(empty.granted, 0);
  EXPECT_EQ(empty.retry_in, absl::Milliseconds(10));
  EXPECT_EQ(budget.Lease(request, t0 + absl::Milliseconds(100)).granted, 10);

  auto quotas = ParseHostQuotas("api=25/hour");
  ASSERT_TRUE(quotas.ok());
  LeaseRequest quota_only;
  quota_only.host = "api";
  quota_only.want = 10;
  quota_only.quota = (*quotas)[0];
  int granted = 0;
  LeaseReply reply;
  for (int i = 0; i < 5; ++i) {
    reply = budget.Lease(quota_only, t0);
    granted += reply.granted;
  }
  EXPECT_EQ(granted, 25);
  EXPECT_TRUE(reply.quota_spent);
  EXPECT_EQ(reply.quota_reset, WindowAt((*quotas)[0], t0).end);

  budget.Cooldown("api", t0 + absl::Seconds(2));
  LeaseReply paused = budget.Lease(request, t0 + absl::Seconds(1));
  EXPECT_TRUE(paused.cooling_down);
  EXPECT_EQ(paused.retry_in, absl::Seconds(1));
}

}  // namespace
}  // namespace gather::ratestore
