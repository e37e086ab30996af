// RedisRateStore against a real redis-server (started by the test on a Unix socket).
#include "service/ratestore/redis_store.h"

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/scale.h"

namespace gather::ratestore {
namespace {

using ::gather::testing::RedisServer;

TEST(RedisUrlTest, ParsesAddressesCredentialsAndDatabases) {
  auto plain = ParseRedisUrl("redis://10.0.0.7:6380/2");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->host, "10.0.0.7");
  EXPECT_EQ(plain->port, 6380);
  EXPECT_EQ(plain->db, 2);
  auto auth = ParseRedisUrl("redis://gather:s3cret@redis");
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->username, "gather");
  EXPECT_EQ(auth->password, "s3cret");
  EXPECT_EQ(auth->port, 6379);
  auto v6 = ParseRedisUrl("redis://:pw@[::1]:7000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->password, "pw");
  auto unix_socket = ParseRedisUrl("unix:///run/redis/redis.sock?db=3");
  ASSERT_TRUE(unix_socket.ok());
  EXPECT_EQ(unix_socket->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(unix_socket->db, 3);
  for (const char* bad : {"http://x", "redis://", "redis://h:port", "redis://h:70000",
                          "redis://h/db", "rediss://h:6379", "unix://relative"}) {
    auto refused = ParseRedisUrl(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("--rate_store"), std::string::npos);
  }
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(redis_.Start().ok()); }

  std::unique_ptr<RedisRateStore> MakeStore(int replicas = 1) {
    auto options = ParseRedisUrl(redis_.url());
    EXPECT_TRUE(options.ok());
    options->replicas = replicas;
    options->reconnect_every = absl::Milliseconds(100);
    return std::make_unique<RedisRateStore>(*options, [this](bool up, const std::string&) {
      std::lock_guard<std::mutex> lock(mu_);
      health_.push_back(up);
    });
  }
  static LeaseReply LeaseNow(RateStore& store, LeaseRequest request) {
    std::promise<LeaseReply> promise;
    std::future<LeaseReply> reply = promise.get_future();
    store.Lease(std::move(request), [&promise](const LeaseReply& r) { promise.set_value(r); });
    return reply.get();
  }
  std::vector<bool> health() {
    std::lock_guard<std::mutex> lock(mu_);
    return health_;
  }

  RedisServer redis_;
  std::mutex mu_;  // health_ is written on the stores' threads
  std::vector<bool> health_;
};

TEST_F(RedisStoreTest, TwoStoresShareOneBucket) {
  auto a = MakeStore();
  auto b = MakeStore();
  LeaseRequest request;
  request.host = "api.example";
  request.rate = 200;
  request.burst = 20;
  request.want = 10;
  const absl::Time start = absl::Now();
  int granted = 0;
  absl::Time end;
  // Both stores lease as fast as they can for about a second.
  while ((end = absl::Now()) - start < absl::Seconds(1)) {
    LeaseReply from_a = LeaseNow(*a, request);
    LeaseReply from_b = LeaseNow(*b, request);
    EXPECT_TRUE(from_a.shared && from_b.shared);
    granted += from_a.granted + from_b.granted;
  }
  const double seconds = absl::ToDoubleSeconds(end - start);
  EXPECT_LE(granted, 20 + 200 * seconds + 10) << "in " << seconds << " s";
  EXPECT_GE(granted, 200 * seconds * 0.8) << "in " << seconds << " s";
  EXPECT_EQ(health(), (std::vector<bool>{true, true}));
}

TEST_F(RedisStoreTest, ACooldownPausesTheHostForEveryStore) {
  auto a = MakeStore();
  auto b = MakeStore();
  LeaseRequest request;
  request.host = "api.example";
  request.rate = 100;
  request.burst = 10;
  EXPECT_GT(LeaseNow(*b, request).granted, 0);
  a->Cooldown("api.example", absl::Now() + absl::Seconds(5));
  LeaseReply paused = LeaseNow(*a, request);  // after the cooldown: one thread, in order
  EXPECT_TRUE(paused.cooling_down);
  LeaseReply other = LeaseNow(*b, request);
  EXPECT_TRUE(other.cooling_down);
  EXPECT_EQ(other.granted, 0);
  EXPECT_GT(other.retry_in, absl::Seconds(4));
  EXPECT_LE(other.retry_in, absl::Seconds(5));
  request.host = "other.example";
  EXPECT_GT(LeaseNow(*b, request).granted, 0);
}

TEST_F(RedisStoreTest, AQuotaIsCountedAcrossStoresAndEndsExactly) {
  auto a = MakeStore();
  auto b = MakeStore();
  auto quotas = ParseHostQuotas("api.example=95/day@America/Los_Angeles");
  ASSERT_TRUE(quotas.ok());
  LeaseRequest request;
  request.host = "api.example";
  request.want = 10;
  request.quota = (*quotas)[0];
  int granted = 0;
  LeaseReply last;
  for (int i = 0; i < 11; ++i) {  // the 10th gets the last 5, the 11th nothing
    last = LeaseNow(i % 2 == 0 ? *a : *b, request);
    granted += last.granted;
  }
  EXPECT_EQ(granted, 95);
  EXPECT_EQ(last.granted, 0);
  EXPECT_TRUE(last.quota_spent);
  EXPECT_EQ(last.quota_left, 0);
  EXPECT_EQ(last.quota_reset, WindowAt((*quotas)[0], absl::Now()).end);
}

TEST_F(RedisStoreTest, WithoutRedisLeasesComeFromTheLocalShareAndComeBackAfterARestart) {
  auto store = MakeStore(/*replicas=*/2);
  LeaseRequest request;
  request.host = "api.example";
  request.rate = 100;
  request.burst = 10;
  request.want = 10;
  EXPECT_TRUE(LeaseNow(*store, request).shared);
  redis_.Kill();
  LeaseReply local = LeaseNow(*store, request);
  EXPECT_FALSE(local.shared);
  EXPECT_EQ(local.granted, 5);  // this replica's half of the burst
  EXPECT_FALSE(store->healthy());
  EXPECT_GT(store->fallback_leases(), 0);
  ASSERT_TRUE(redis_.Start().ok());
  // Reconnects by itself once reconnect_every (100 ms) has passed: lease until it is shared.
  const absl::Time give_up = absl::Now() + ::gather::testing::Slack(absl::Seconds(10));
  LeaseReply again;
  do {
    again = LeaseNow(*store, request);
  } while (!again.shared && absl::Now() < give_up);
  EXPECT_TRUE(again.shared);
  EXPECT_TRUE(store->healthy());
  EXPECT_EQ(health(), (std::vector<bool>{true, false, true}));
}

}  // namespace
}  // namespace gather::ratestore
