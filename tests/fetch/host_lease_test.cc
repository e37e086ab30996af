#include "service/fetch/host_lease.h"

#include "gtest/gtest.h"

namespace gather::fetch {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(HostLeaseTest, AsksOnceThenSpendsTheLeasedTokens) {
  HostLease lease(std::nullopt);
  absl::Time wake;
  bool ask = false;
  EXPECT_EQ(lease.Check(kNow, &wake, &ask), HostLease::Gate::kWait);
  EXPECT_TRUE(ask);
  ratestore::LeaseRequest request = lease.Request("api", 100, 10);
  EXPECT_EQ(request.want, 5);  // 50 ms of 100/s
  EXPECT_EQ(lease.Check(kNow, &wake, &ask), HostLease::Gate::kWait);
  EXPECT_FALSE(ask);  // one request out at a time; its reply wakes the loop
  EXPECT_EQ(wake, absl::InfiniteFuture());
  ratestore::LeaseReply reply;
  reply.granted = 2;
  lease.OnReply(reply, kNow);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(lease.Check(kNow, &wake, &ask), HostLease::Gate::kOpen);
    lease.Spend();
  }
  EXPECT_EQ(lease.Check(kNow, &wake, &ask), HostLease::Gate::kWait);
  EXPECT_TRUE(ask);
}

TEST(HostLeaseTest, StaleRateTokensAreDroppedAndRefusalsWait) {
  HostLease lease(std::nullopt);
  absl::Time wake;
  bool ask = false;
  lease.Check(kNow, &wake, &ask);
  lease.Request("api", 100, 10);
  ratestore::LeaseReply reply;
  reply.granted = 5;
  lease.OnReply(reply, kNow);
  EXPECT_EQ(lease.Check(kNow + HostLease::kLeaseLife, &wake, &ask), HostLease::Gate::kWait);
  lease.Request("api", 100, 10);
  ratestore::LeaseReply none;
  none.retry_in = absl::Milliseconds(30);
  lease.OnReply(none, kNow + HostLease::kLeaseLife);
  EXPECT_EQ(lease.Check(kNow + HostLease::kLeaseLife, &wake, &ask), HostLease::Gate::kWait);
  EXPECT_FALSE(ask);
  EXPECT_EQ(wake, kNow + HostLease::kLeaseLife + absl::Milliseconds(30));
}

TEST(HostLeaseTest, CooldownsAndSpentQuotas) {
  auto quotas = ratestore::ParseHostQuotas("api=10/hour");
  ASSERT_TRUE(quotas.ok());
  HostLease lease((*quotas)[0]);
  absl::Time wake;
  bool ask = false;
  lease.PauseUntil(kNow + absl::Seconds(3));
  EXPECT_EQ(lease.Check(kNow, &wake, &ask), HostLease::Gate::kWait);
  EXPECT_EQ(wake, kNow + absl::Seconds(3));
  EXPECT_FALSE(ask);
  const absl::Time later = kNow + absl::Seconds(3);
  EXPECT_EQ(lease.Check(later, &wake, &ask), HostLease::Gate::kWait);
  ratestore::LeaseRequest request = lease.Request("api", 0, 0);
  EXPECT_EQ(request.want, 10);
  ASSERT_TRUE(request.quota.has_value());
  ratestore::LeaseReply spent;
  spent.quota_spent = true;
  spent.quota_reset = later + absl::Minutes(20);
  lease.OnReply(spent, later);
  EXPECT_EQ(lease.Check(later, &wake, &ask), HostLease::Gate::kQuotaSpent);
  EXPECT_EQ(lease.quota_left(), 0);
  // A new period: asked again.
  EXPECT_EQ(lease.Check(later + absl::Minutes(20), &wake, &ask), HostLease::Gate::kWait);
  EXPECT_TRUE(ask);
}

}  // namespace
}  // namespace gather::fetch
