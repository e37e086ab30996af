#include "service/fetch/hedger.h"

#include <memory>
#include <random>

#include "gtest/gtest.h"

namespace gather::fetch {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

std::unique_ptr<Job> NewJob(const std::string& host) {
  auto job = std::make_unique<Job>();
  job->request.host = host;
  return job;
}

GroupOptions Auto() {
  GroupOptions options;
  options.hedge_auto = true;
  return options;
}

TEST(HedgerTest, AFixedDelayArmsAtOnce) {
  Hedger hedger;
  GroupOptions options;
  options.hedge_after = absl::Milliseconds(30);
  auto job = NewJob("api");
  hedger.Arm(job.get(), options, kStart);
  EXPECT_EQ(hedger.NextWakeup(), kStart + absl::Milliseconds(30));
  EXPECT_TRUE(hedger.TakeDue(kStart + absl::Milliseconds(29)).empty());
  EXPECT_EQ(hedger.TakeDue(kStart + absl::Milliseconds(30)), std::vector<Job*>{job.get()});
  EXPECT_EQ(hedger.NextWakeup(), absl::InfiniteFuture());
}

TEST(HedgerTest, NoHedgePastTheDeadlineOrOnceDisarmed) {
  Hedger hedger;
  GroupOptions options;
  options.hedge_after = absl::Milliseconds(30);
  options.deadline = kStart + absl::Milliseconds(20);
  auto job = NewJob("api");
  hedger.Arm(job.get(), options, kStart);
  EXPECT_EQ(hedger.NextWakeup(), absl::InfiniteFuture());
  options.deadline = absl::InfiniteFuture();
  hedger.Arm(job.get(), options, kStart);
  hedger.Disarm(job.get());
  EXPECT_TRUE(hedger.TakeDue(kStart + absl::Seconds(1)).empty());
}

// 2% of answers take 1 s, the rest 5 ms with noise up to `noise`: the automatic delay lands
// between the fast answers' tail and the slow ones, however noisy the fast ones are.
absl::Duration AutoDelayAfter(absl::Duration noise) {
  Hedger hedger;
  std::mt19937 random(7);
  std::uniform_real_distribution<double> jitter(0, absl::ToDoubleMilliseconds(noise));
  absl::Time now = kStart;
  for (int i = 0; i < 2000; ++i) {
    hedger.OnFirstAttempt("api", now);
    hedger.RecordLatency("api", i % 50 == 7 ? absl::Seconds(1)
                                             : absl::Milliseconds(5 + jitter(random)));
    now += absl::Milliseconds(1);
  }
  auto job = NewJob("api");
  hedger.Arm(job.get(), Auto(), now);
  return hedger.NextWakeup() - now;
}

TEST(HedgerTest, TheAutomaticDelaySitsBetweenTheFastAnswersAndTheSlowOnes) {
  for (absl::Duration noise : {absl::ZeroDuration(), absl::Milliseconds(20), absl::Milliseconds(80)}) {
    absl::Duration delay = AutoDelayAfter(noise);
    EXPECT_GE(delay, absl::Milliseconds(5) + noise * 0.9) << noise;
    EXPECT_LT(delay, absl::Milliseconds(200)) << noise;
  }
}

TEST(HedgerTest, NoAutomaticHedgeUntilEnoughAnswers) {
  Hedger hedger;
  for (size_t i = 0; i + 1 < Hedger::kMinSamples; ++i) {
    hedger.OnFirstAttempt("api", kStart);
    hedger.RecordLatency("api", absl::Milliseconds(5));
  }
  auto job = NewJob("api");
  hedger.Arm(job.get(), Auto(), kStart);
  EXPECT_EQ(hedger.NextWakeup(), absl::InfiniteFuture());
  hedger.RecordLatency("api", absl::Milliseconds(5));
  hedger.Arm(job.get(), Auto(), kStart);
  EXPECT_EQ(hedger.NextWakeup(), kStart + absl::Milliseconds(5));
}

TEST(HedgerTest, AutomaticHedgesStayAFewPercentOfRequests) {
  // Every answer turns slow: every job's timer comes due, but the budget lets only a few
  // percent of first attempts (plus one per second) become hedges.
  Hedger hedger;
  absl::Time now = kStart;
  for (size_t i = 0; i < Hedger::kMinSamples; ++i) {
    hedger.OnFirstAttempt("api", now);
    hedger.RecordLatency("api", absl::Milliseconds(5));
  }
  std::vector<std::unique_ptr<Job>> jobs;
  size_t hedged = 0;
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    jobs.push_back(NewJob("api"));
    hedger.OnFirstAttempt("api", now);
    hedger.Arm(jobs.back().get(), Auto(), now);
    now += absl::Milliseconds(1);
    hedged += hedger.TakeDue(now + absl::Milliseconds(10)).size();
  }
  EXPECT_GT(hedged, 0u);
  EXPECT_LE(hedged, n * Hedger::kAutoBudget + 10 + 10);  // share, balance cap, floor over 10 s
}

}  // namespace
}  // namespace gather::fetch
