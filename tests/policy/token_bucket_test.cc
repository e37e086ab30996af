#include "service/policy/token_bucket.h"

#include "gtest/gtest.h"

namespace gather::policy {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

TEST(TokenBucketTest, StartsWithTheBurstThenRefillsAtTheRate) {
  TokenBucket bucket(100, 10, kStart);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(bucket.TryTake(kStart)) << i;
  EXPECT_FALSE(bucket.TryTake(kStart));
  EXPECT_EQ(bucket.NextAvailable(kStart), kStart + absl::Milliseconds(10));
  EXPECT_FALSE(bucket.TryTake(kStart + absl::Milliseconds(9)));
  EXPECT_TRUE(bucket.TryTake(kStart + absl::Milliseconds(10)));
}

TEST(TokenBucketTest, OverASecondTakesRatePlusBurst) {
  TokenBucket bucket(150, TokenBucket::DefaultBurst(150), kStart);
  int taken = 0;
  for (int ms = 0; ms <= 1000; ++ms) {
    while (bucket.TryTake(kStart + absl::Milliseconds(ms))) ++taken;
  }
  EXPECT_EQ(taken, 150 + 15);
}

TEST(TokenBucketTest, NeverStoresMoreThanTheBurst) {
  TokenBucket bucket(10, 2, kStart);
  absl::Time later = kStart + absl::Hours(1);
  EXPECT_TRUE(bucket.TryTake(later));
  EXPECT_TRUE(bucket.TryTake(later));
  EXPECT_FALSE(bucket.TryTake(later));
}

TEST(TokenBucketTest, ResetKeepsEarnedTokensUpToTheNewBurst) {
  TokenBucket bucket(100, 50, kStart);
  bucket.Reset(10, 1, kStart);
  EXPECT_TRUE(bucket.TryTake(kStart));
  EXPECT_FALSE(bucket.TryTake(kStart));
  EXPECT_EQ(bucket.NextAvailable(kStart), kStart + absl::Milliseconds(100));
}

TEST(TokenBucketTest, DefaultBurstIsTenPercentAtLeastOne) {
  EXPECT_EQ(TokenBucket::DefaultBurst(200), 20);
  EXPECT_EQ(TokenBucket::DefaultBurst(5), 1);
}

}  // namespace
}  // namespace gather::policy
