#include "service/policy/adaptive_rate.h"

#include <deque>

#include "gtest/gtest.h"
#include "service/policy/token_bucket.h"

namespace gather::policy {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

// A simulated upstream that answers 429 to anything beyond `limit` requests in the last second,
// driven by a client that sends as fast as the adaptive rate's token bucket allows.
struct Simulation {
  int sent = 0, throttled = 0;
  double final_rate = 0;
};

Simulation Simulate(double limit, absl::Duration duration) {
  AdaptiveRate adaptive(AdaptiveRateOptions(), kStart);
  TokenBucket bucket(adaptive.rate(), TokenBucket::DefaultBurst(adaptive.rate()), kStart);
  std::deque<absl::Time> window;
  Simulation sim;
  const absl::Duration step = absl::Milliseconds(1);
  const absl::Duration latency = absl::Milliseconds(5);
  for (absl::Time now = kStart; now < kStart + duration; now += step) {
    bool limited = false;
    while (true) {
      if (!bucket.TryTake(now)) {
        limited = true;
        break;
      }
      ++sim.sent;
      while (!window.empty() && now - window.front() >= absl::Seconds(1)) window.pop_front();
      bool throttled = static_cast<double>(window.size()) >= limit;
      if (throttled) {
        ++sim.throttled;
      } else {
        window.push_back(now);
      }
      if (adaptive.OnAnswer(now + latency, throttled, latency)) {
        bucket.Reset(adaptive.rate(), TokenBucket::DefaultBurst(adaptive.rate()), now);
      }
    }
    if (adaptive.Tick(now, limited)) {
      bucket.Reset(adaptive.rate(), TokenBucket::DefaultBurst(adaptive.rate()), now);
    }
  }
  sim.final_rate = adaptive.rate();
  return sim;
}

TEST(AdaptiveRateTest, SettlesCloseToAnUnknownLimitWithFewThrottles) {
  for (double limit : {50.0, 200.0, 1000.0}) {
    Simulation sim = Simulate(limit, absl::Seconds(30));
    double accepted_rate = (sim.sent - sim.throttled) / 30.0;
    std::cerr << "limit " << limit << ": accepted " << accepted_rate << "/s, throttled "
              << 100.0 * sim.throttled / sim.sent << "%, final rate " << sim.final_rate << "\n";
    EXPECT_GT(accepted_rate, limit * 0.85) << "limit " << limit;
    EXPECT_LT(static_cast<double>(sim.throttled) / sim.sent, 0.05) << "limit " << limit;
    EXPECT_GT(sim.final_rate, limit * 0.7);
    EXPECT_LT(sim.final_rate, limit * 1.2);
  }
}

TEST(AdaptiveRateTest, GrowsOnlyWhenTheRateIsUsed) {
  AdaptiveRate adaptive(AdaptiveRateOptions(), kStart);
  for (int i = 1; i <= 40; ++i) adaptive.Tick(kStart + absl::Milliseconds(250) * i, false);
  EXPECT_EQ(adaptive.rate(), 20);
  adaptive.Tick(kStart + absl::Seconds(11), true);
  EXPECT_EQ(adaptive.rate(), 30);  // slow start: ×1.5
}

TEST(AdaptiveRateTest, OneCutPerCooldownAndRisingLatencyCuts) {
  AdaptiveRate adaptive(AdaptiveRateOptions(), kStart);
  EXPECT_TRUE(adaptive.OnAnswer(kStart, true, absl::Milliseconds(5)));
  EXPECT_DOUBLE_EQ(adaptive.rate(), 17);
  EXPECT_FALSE(adaptive.OnAnswer(kStart + absl::Milliseconds(10), true, absl::Milliseconds(5)));
  EXPECT_DOUBLE_EQ(adaptive.rate(), 17);
  EXPECT_FALSE(adaptive.slow_start());

  AdaptiveRate slow(AdaptiveRateOptions(), kStart);
  slow.OnAnswer(kStart, false, absl::Milliseconds(2));  // the host's best
  for (int i = 0; i < 20; ++i) slow.OnAnswer(kStart, false, absl::Milliseconds(500));
  EXPECT_TRUE(slow.Tick(kStart + absl::Milliseconds(300), true));
  EXPECT_LT(slow.rate(), 20);
}

}  // namespace
}  // namespace gather::policy
