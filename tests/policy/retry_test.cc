#include "service/policy/retry.h"

#include "gtest/gtest.h"

namespace gather::policy {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(RetryTest, RetryableStatuses) {
  for (int code : {429, 502, 503, 504}) EXPECT_TRUE(IsRetryableHttpStatus(code)) << code;
  for (int code : {200, 400, 404, 500, 501}) EXPECT_FALSE(IsRetryableHttpStatus(code)) << code;
}

TEST(RetryTest, FullJitterBackoffStaysUnderTheExponentialCeiling) {
  BackoffPolicy policy;  // 100 ms base, 10 s cap
  EXPECT_EQ(Backoff(1, policy, 0.0), absl::ZeroDuration());
  EXPECT_EQ(Backoff(1, policy, 0.5), absl::Milliseconds(50));
  EXPECT_EQ(Backoff(3, policy, 0.5), absl::Milliseconds(200));
  EXPECT_LT(Backoff(3, policy, 0.999), absl::Milliseconds(400));
  EXPECT_EQ(Backoff(20, policy, 0.5), absl::Seconds(5));  // capped at 10 s
}

TEST(RetryTest, RetryAfterSecondsAndDates) {
  EXPECT_EQ(ParseRetryAfter("2", kNow), absl::Seconds(2));
  EXPECT_EQ(ParseRetryAfter(" 120 ", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:40 GMT", kNow), absl::Seconds(3));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:47 GMT", kNow), absl::Seconds(10));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:57 1994", kNow), absl::Seconds(20));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", kNow), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("soon", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("infinite-future", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("infinite-past", kNow), std::nullopt);
}

TEST(RetryTest, BudgetAllowsARatioOfRequestsPlusAFloor) {
  RetryBudget budget(0.2, 10, 100, kNow);  // starts with the floor's first second: 10
  for (int i = 0; i < 1000; ++i) budget.OnRequest(kNow);
  int retries = 0;
  while (budget.TryRetry(kNow)) ++retries;
  EXPECT_EQ(retries, 100);  // 10 + 200 earned, capped at 100 unspent
  EXPECT_FALSE(budget.TryRetry(kNow + absl::Milliseconds(50)));
  EXPECT_TRUE(budget.TryRetry(kNow + absl::Milliseconds(100)));  // the floor: 10 per second
}

TEST(RetryTest, BudgetBoundsRetriesDuringAnOutage) {
  RetryBudget budget(0.2, 10, 100, kNow);
  int requests = 0, retries = 0;
  for (int ms = 0; ms < 2000; ++ms) {  // 1,000 requests over 2 s, every one failing
    absl::Time now = kNow + absl::Milliseconds(ms);
    if (ms % 2 == 0) {
      budget.OnRequest(now);
      ++requests;
      if (budget.TryRetry(now)) ++retries;
    }
  }
  EXPECT_LE(retries, requests * 0.2 + 10 * 3);
}

}  // namespace
}  // namespace gather::policy
