#include "service/policy/retry.h"

#include <vector>

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

TEST(RetryTest, ReserveWaitsForTheBudgetInsteadOfRefusing) {
  RetryBudget budget(0.2, 10, 100, kNow);  // 10 to spend
  for (int i = 0; i < 10; ++i) EXPECT_EQ(budget.Reserve(kNow), absl::ZeroDuration());
  // Then each retry waits its turn at the floor's pace: 10 per second.
  EXPECT_EQ(budget.Reserve(kNow), absl::Milliseconds(100));
  EXPECT_EQ(budget.Reserve(kNow), absl::Milliseconds(200));
  EXPECT_FALSE(budget.TryRetry(kNow));  // hedges stop while retries are owed
  // 100 ms later one was earned back: the next waits 200 ms from then.
  EXPECT_EQ(budget.Reserve(kNow + absl::Milliseconds(100)), absl::Milliseconds(200));
  budget.Refund();
  EXPECT_EQ(budget.Reserve(kNow + absl::Milliseconds(100)), absl::Milliseconds(200));
  // Requests earn their share too: 10 requests pay back 2 retries.
  for (int i = 0; i < 10; ++i) budget.OnRequest(kNow + absl::Milliseconds(100));
  EXPECT_EQ(budget.Reserve(kNow + absl::Milliseconds(100)), absl::Milliseconds(100));
}

TEST(RetryTest, ReservedRetriesGoOutAtTheBudgetsPace) {
  // 400 requests fail twice each: 800 retries reserved at once. The waits spread them so that
  // within any time t no more than 20% of requests + 10 + 10 per second * t start.
  RetryBudget budget(0.2, 10, 100, kNow);
  for (int i = 0; i < 400; ++i) budget.OnRequest(kNow);
  std::vector<absl::Duration> waits;
  for (int i = 0; i < 800; ++i) waits.push_back(budget.Reserve(kNow));
  for (double t : {0.0, 1.0, 10.0, 60.0}) {
    int started = 0;
    for (absl::Duration w : waits) started += w <= absl::Seconds(t) ? 1 : 0;
    EXPECT_LE(started, 100 + 10 * t + 1) << t;  // 100: the most the budget banks
  }
  EXPECT_LE(waits.back(), absl::Seconds(71));  // (800 - 90) / 10 per second
  EXPECT_GE(waits.back(), absl::Seconds(70));
}

}  // namespace
}  // namespace gather::policy
