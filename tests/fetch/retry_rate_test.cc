// The engine's rate limits and retries against local upstreams that enforce a limit, fail the
// first attempts, send Retry-After, or refuse connections.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "service/fetch/curl_engine.h"
#include "service/rpc/status_convert.h"
#include "tests/support/engine_helpers.h"
#include "tests/support/rate_window.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::fetch {
namespace {

using ::gather::testing::CollectingSink;
using ::gather::testing::LoopbackOptions;
using ::gather::testing::MostWithin;
using ::gather::testing::Slack;
using ::gather::testing::SlackBelow;
using ::gather::testing::TestUpstream;

// Arrival times of requests, by path.
class Arrivals {
 public:
  void Record(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    times_[path].push_back(absl::Now());
    all_.push_back(absl::Now());
  }
  std::vector<absl::Time> Of(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return times_[path];
  }
  std::vector<absl::Time> All() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<absl::Time> all = all_;
    std::sort(all.begin(), all.end());
    return all;
  }
  int Count(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(times_[path].size());
  }

 private:
  std::mutex mu_;  // std::mutex: Debian's absl::Mutex has no TSan annotations
  std::map<std::string, std::vector<absl::Time>> times_;
  std::vector<absl::Time> all_;
};

// All jobs were submitted at once, so a job's start time is its submit time plus its queue wait:
// checks that within any time t from the start at most burst + rate × t (+1) transfers started.
// "At once" is the submit loop's duration, `spread` (a later job's clock starts later, so its
// start looks earlier by up to that much): the bound allows rate × spread more. Under a
// sanitizer the loop takes milliseconds and a strict bound failed by a fraction of a token.
void ExpectStartsWithinRate(const std::map<uint64_t, FetchResult>& results, double rate,
                            double burst, absl::Duration spread) {
  std::vector<absl::Duration> starts;
  for (const auto& [tag, result] : results) starts.push_back(result.queue_wait);
  std::sort(starts.begin(), starts.end());
  for (size_t i = 0; i < starts.size(); ++i) {
    double allowed = burst + rate * absl::ToDoubleSeconds(starts[i] + spread) + 1;
    EXPECT_LE(static_cast<double>(i + 1), allowed) << "start " << i << " at " << starts[i];
  }
  // And the rate was reached, not undershot: the last start is near (n - burst) / rate (later
  // under a sanitizer, whose slower engine loop and upstream lag behind the tokens).
  double ideal = (static_cast<double>(starts.size()) - burst) / rate;
  EXPECT_LT(absl::ToDoubleSeconds(starts.back()),
            (ideal * 2 + 0.5) * ::gather::testing::TimeSlack());
}

FetchRequest Get(const std::string& url, int max_attempts = 3) {
  FetchRequest request;
  request.url = url;
  request.timeout = absl::Seconds(10);
  request.max_attempts = max_attempts;
  return request;
}

class RetryRateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_.Get(R"(/ok/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      arrivals_.Record(request.path);
      response.set_content("{}", "application/json");
    });
    // Fails the first N attempts of each path with 503, then answers 200.
    upstream_.Get(R"(/flaky/(\d+)/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      arrivals_.Record(request.path);
      int fail = std::stoi(request.matches[2]);
      response.status = arrivals_.Count(request.path) <= fail ? 503 : 200;
      response.set_content("{}", "application/json");
    });
    // 429 with Retry-After: N on the first attempt of each path, then 200.
    upstream_.Get(R"(/after/(\d+)/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      arrivals_.Record(request.path);
      if (arrivals_.Count(request.path) == 1) {
        response.status = 429;
        response.set_header("Retry-After", request.matches[2].str());
      }
      response.set_content("{}", "application/json");
    });
    upstream_.Get(R"(/missing/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      arrivals_.Record(request.path);
      response.status = 404;
    });
    upstream_.Start();
    base_ = upstream_.base_url();
  }
  std::unique_ptr<CurlEngine> MakeEngine(EngineOptions options = LoopbackOptions()) {
    auto engine = CurlEngine::Create(std::move(options));
    EXPECT_TRUE(engine.ok());
    return *std::move(engine);
  }

  Arrivals arrivals_;
  TestUpstream upstream_;
  std::string base_;
};

TEST_F(RetryRateTest, AGroupRateHoldsAtTheUpstream) {
  auto engine = MakeEngine();
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 10;  // few connections: the rate, not connection setup, paces arrivals
  options.rate = 200;            // burst: 20
  GroupId group = engine->OpenGroup(&sink, options);
  const int n = 200;
  const absl::Time submitting = absl::Now();
  for (int i = 0; i < n; ++i) engine->Submit(group, i, Get(absl::StrCat(base_, "/ok/", i)));
  const absl::Duration spread = absl::Now() - submitting;
  ASSERT_TRUE(sink.Wait(n));
  auto results = sink.results();
  ExpectStartsWithinRate(results, 200, 20, spread);
  // At the upstream too, loosely (connection setup and a busy machine shift arrivals a little).
  std::vector<absl::Time> all = arrivals_.All();
  ASSERT_EQ(all.size(), static_cast<size_t>(n));
  EXPECT_GE(all.back() - all.front(), absl::Milliseconds(900 * 0.6));
  EXPECT_LE(MostWithin(all, absl::Milliseconds(500)), 20 + 100 + 40);
  EXPECT_GT(results[n - 1].queue_wait, absl::Milliseconds(500));  // token waits are queue time
  for (auto& [tag, result] : results) EXPECT_EQ(result.http_status, 200);
  EXPECT_GT(engine->stats().rate_waits.load(), 0);
  engine->CloseGroup(group);
}

TEST_F(RetryRateTest, GroupsShareOneBucketPerHostAtTheLowestRate) {
  auto engine = MakeEngine();
  CollectingSink fast, slow;
  GroupOptions a, b;
  a.rate = 1000;
  b.rate = 150;  // the host runs at 150/s for both while both are open
  a.max_concurrency = b.max_concurrency = 5;
  GroupId ga = engine->OpenGroup(&fast, a);
  GroupId gb = engine->OpenGroup(&slow, b);
  const absl::Time submitting = absl::Now();
  for (int i = 0; i < 100; ++i) {
    engine->Submit(gb, i, Get(absl::StrCat(base_, "/ok/", 1000 + i)));
    engine->Submit(ga, i, Get(absl::StrCat(base_, "/ok/", i)));
  }
  const absl::Duration spread = absl::Now() - submitting;
  ASSERT_TRUE(fast.Wait(100));
  ASSERT_TRUE(slow.Wait(100));
  std::map<uint64_t, FetchResult> both = fast.results();
  for (auto& [tag, result] : slow.results()) both[1000 + tag] = result;
  ExpectStartsWithinRate(both, 150, 15, spread);  // one bucket: 200 starts at 150/s, not 2 × 150
  std::vector<absl::Time> all = arrivals_.All();
  ASSERT_EQ(all.size(), 200u);
  EXPECT_GE(all.back() - all.front(), absl::Milliseconds(1230 * 0.6));
  engine->CloseGroup(ga);
  engine->CloseGroup(gb);
}

TEST_F(RetryRateTest, TheServerHostRateCapsAGroupThatAsksForMore) {
  EngineOptions options = LoopbackOptions();
  options.host_rates = policy::ParseHostRates("127.0.0.1=100:5").value();
  auto engine = MakeEngine(std::move(options));
  CollectingSink sink;
  GroupOptions group_options;
  group_options.rate = 10'000;
  group_options.max_concurrency = 5;
  GroupId group = engine->OpenGroup(&sink, group_options);
  const absl::Time submitting = absl::Now();
  for (int i = 0; i < 100; ++i) engine->Submit(group, i, Get(absl::StrCat(base_, "/ok/", i)));
  const absl::Duration spread = absl::Now() - submitting;
  ASSERT_TRUE(sink.Wait(100));
  ExpectStartsWithinRate(sink.results(), 100, 5, spread);
  std::vector<absl::Time> all = arrivals_.All();
  EXPECT_GE(all.back() - all.front(), absl::Milliseconds(950 * 0.6));
  engine->CloseGroup(group);
}

TEST_F(RetryRateTest, RetryAfterIsTheMinimumWaitAndTheKeyEndsOk) {
  auto engine = MakeEngine();
  CollectingSink sink;
  GroupId group = engine->OpenGroup(&sink, GroupOptions{});
  engine->Submit(group, 0, Get(base_ + "/after/1/2"));
  ASSERT_TRUE(sink.Wait(1));
  FetchResult result = sink.results()[0];
  EXPECT_EQ(result.outcome, FetchOutcome::kResponse);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.attempts, 2u);
  std::vector<absl::Time> times = arrivals_.Of("/after/1/2");
  ASSERT_EQ(times.size(), 2u);
  EXPECT_GE(times[1] - times[0], absl::Seconds(2));
  EXPECT_GE(result.queue_wait, absl::Milliseconds(1900));  // the wait is queue time
  // Not the transfer's (the 2 s wait is queue time).
  EXPECT_LT(result.latency, SlackBelow(absl::Seconds(1), absl::Milliseconds(1900)));
  engine->CloseGroup(group);
}

TEST_F(RetryRateTest, FailuresAreRetriedUpToMaxAttempts) {
  auto engine = MakeEngine();
  CollectingSink sink;
  GroupId group = engine->OpenGroup(&sink, GroupOptions{});
  engine->Submit(group, 0, Get(base_ + "/flaky/1/2", 3));  // fails twice, then OK
  engine->Submit(group, 1, Get(base_ + "/flaky/2/2", 2));  // fails twice: out of attempts
  engine->Submit(group, 2, Get(base_ + "/missing/3", 3));  // 404: never retried
  ASSERT_TRUE(sink.Wait(3));
  auto results = sink.results();
  EXPECT_EQ(results[0].http_status, 200);
  EXPECT_EQ(results[0].attempts, 3u);
  EXPECT_EQ(results[1].http_status, 503);
  EXPECT_EQ(results[1].attempts, 2u);
  std::string error;
  EXPECT_EQ(rpc::JobStatusOf(results[1], 0, &error), v1::JOB_STATUS_HTTP_ERROR);
  EXPECT_NE(error.find("after 2 attempts"), std::string::npos) << error;
  EXPECT_EQ(results[2].http_status, 404);
  EXPECT_EQ(results[2].attempts, 1u);
  EXPECT_EQ(arrivals_.Count("/missing/3"), 1);
  engine->CloseGroup(group);
}

TEST_F(RetryRateTest, ARetryAfterPastTheDeadlineIsNotWaitedFor) {
  auto engine = MakeEngine();
  CollectingSink sink;
  GroupOptions options;
  // (Both widen under a sanitizer; the Retry-After, 30 s, stays past the deadline.)
  options.deadline = absl::Now() + Slack(absl::Seconds(3));
  GroupId group = engine->OpenGroup(&sink, options);
  absl::Time start = absl::Now();
  engine->Submit(group, 0, Get(base_ + "/after/9/30"));
  ASSERT_TRUE(sink.Wait(1));
  EXPECT_LT(absl::Now() - start, Slack(absl::Seconds(2)));
  FetchResult result = sink.results()[0];
  std::string error;
  EXPECT_EQ(rpc::JobStatusOf(result, 0, &error), v1::JOB_STATUS_RATE_LIMITED);
  EXPECT_NE(error.find("not retried"), std::string::npos) << error;
  engine->CloseGroup(group);
}

TEST_F(RetryRateTest, ADeadUpstreamGetsAtMostTheRetryBudget) {
  // A bound socket that does not listen: every connection is refused.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string dead = absl::StrCat("http://127.0.0.1:", ntohs(address.sin_port), "/x/");

  auto engine = MakeEngine();
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 100;
  // An online call (a deadline): a retry the budget cannot afford before it fails at once.
  const absl::Duration deadline = Slack(absl::Seconds(3));
  options.deadline = absl::Now() + deadline;
  GroupId group = engine->OpenGroup(&sink, options);
  const int n = 1000;
  for (int i = 0; i < n; ++i) engine->Submit(group, i, Get(absl::StrCat(dead, i), 3));
  ASSERT_TRUE(sink.Wait(n));
  uint64_t attempts = 0;
  for (auto& [tag, result] : sink.results()) {
    EXPECT_EQ(result.outcome, FetchOutcome::kConnectError);
    attempts += result.attempts;
  }
  // 20% of requests, the 10 the budget starts with, and 10 per second until the deadline.
  EXPECT_LE(attempts, static_cast<uint64_t>(n * 1.2 + 10 + 10 * absl::ToDoubleSeconds(deadline)))
      << "retries must stay within the budget";
  EXPECT_GT(attempts, static_cast<uint64_t>(n));  // but some were retried
  EXPECT_GT(engine->stats().retries_denied.load(), 0);
  engine->CloseGroup(group);
  close(fd);
}

TEST_F(RetryRateTest, ABatchsRetriesWaitForTheBudgetAndEveryKeyEndsOk) {
  EngineOptions engine_options = LoopbackOptions();
  engine_options.retry_budget_ratio = 0.2;
  engine_options.retry_budget_min_per_second = 50;  // 50 to start with, then 50 per second
  auto engine = MakeEngine(std::move(engine_options));
  CollectingSink sink;
  GroupOptions options;  // no deadline: a batch
  options.max_concurrency = 50;
  GroupId group = engine->OpenGroup(&sink, options);
  const int n = 100;  // every key fails twice: 200 retries, 70 affordable at once
  const absl::Time start = absl::Now();
  for (int i = 0; i < n; ++i) engine->Submit(group, i, Get(absl::StrCat(base_, "/flaky/", i, "/2"), 3));
  ASSERT_TRUE(sink.Wait(n));
  absl::Duration budget_wait;
  int waited = 0;
  for (auto& [tag, result] : sink.results()) {
    EXPECT_EQ(result.http_status, 200) << tag << ": " << result.note;
    EXPECT_EQ(result.attempts, 3u);
    budget_wait += result.budget_wait;
    waited += result.budget_wait > absl::ZeroDuration() ? 1 : 0;
  }
  EXPECT_GT(waited, 0);
  EXPECT_EQ(engine->stats().retries_denied.load(), 0);
  EXPECT_GT(engine->stats().retries_waited.load(), 0);
  // The budget still paces them: retries (arrivals beyond each key's first) that went out within
  // t of the start are at most 50 + 20 + 50 per second * t (+ slack for the clock's spread).
  std::vector<absl::Time> all = arrivals_.All();
  ASSERT_EQ(all.size(), static_cast<size_t>(3 * n));
  for (size_t i = n; i < all.size(); ++i) {
    double t = absl::ToDoubleSeconds(all[i] - start);
    EXPECT_LE(static_cast<double>(i + 1 - n), 70 + 50 * t + 5) << "retry " << i - n << " at " << t;
  }
  engine->CloseGroup(group);
}

FetchRequest Shared(const std::string& url) {
  FetchRequest request = Get(url, 1);
  request.coalesce = true;
  return request;
}

TEST_F(RetryRateTest, IdenticalRequestsShareOneFetchAcrossGroups) {
  // A slow endpoint keeps identical requests in flight together.
  Arrivals arrivals;  // before the upstream whose handlers record here: it must outlive it
  TestUpstream slow;
  slow.Get(R"(/item/(\d+))", [&](const httplib::Request& request, httplib::Response& response) {
    arrivals.Record(request.path);
    slow.Delay(absl::Milliseconds(200));
    response.set_content(absl::StrCat("{\"id\":", request.matches[1].str(), "}"), "application/json");
  });
  slow.Start();
  EngineOptions options = LoopbackOptions();
  options.coalesce_window = absl::ZeroDuration();  // only requests in flight together share
  auto engine = MakeEngine(std::move(options));
  CollectingSink a, b, c;
  GroupId ga = engine->OpenGroup(&a, GroupOptions{});
  GroupId gb = engine->OpenGroup(&b, GroupOptions{});
  GroupId gc = engine->OpenGroup(&c, GroupOptions{});
  for (int i = 0; i < 30; ++i) {
    engine->Submit(ga, i, Shared(absl::StrCat(slow.base_url(), "/item/", i % 3)));
    engine->Submit(gb, i, Shared(absl::StrCat(slow.base_url(), "/item/", i % 3)));
  }
  FetchRequest own = Get(slow.base_url() + "/item/0", 1);  // coalesce off: its own fetch
  engine->Submit(gc, 0, std::move(own));
  ASSERT_TRUE(a.Wait(30, Slack(absl::Seconds(5))));
  ASSERT_TRUE(b.Wait(30));
  ASSERT_TRUE(c.Wait(1));
  EXPECT_EQ(arrivals.Count("/item/0"), 2);  // one shared fetch + the one that opted out
  EXPECT_EQ(arrivals.Count("/item/1"), 1);
  EXPECT_EQ(arrivals.Count("/item/2"), 1);
  int shared = 0;
  for (auto* sink : {&a, &b}) {
    for (auto& [tag, result] : sink->results()) {
      EXPECT_EQ(result.http_status, 200);
      EXPECT_EQ(result.body.substr(0, 8), absl::StrCat("{\"id\":", tag % 3, "}").substr(0, 8));
      shared += result.shared ? 1 : 0;
    }
  }
  EXPECT_EQ(shared, 60 - 3);
  EXPECT_EQ(engine->stats().coalesced.load(), 57);
  for (GroupId g : {ga, gb, gc}) engine->CloseGroup(g);
}

TEST_F(RetryRateTest, ACancelledLeaderHandsTheFetchToAFollower) {

  Arrivals arrivals;  // before the upstream whose handlers record here: it must outlive it
  TestUpstream slow;
  slow.Get(R"(/item/(\d+))", [&](const httplib::Request& request, httplib::Response& response) {
    arrivals.Record(request.path);
    slow.Delay(absl::Milliseconds(300));
    response.set_content("{}", "application/json");
  });
  slow.Start();
  auto engine = MakeEngine();
  CollectingSink a, b;
  GroupId ga = engine->OpenGroup(&a, GroupOptions{});
  GroupId gb = engine->OpenGroup(&b, GroupOptions{});
  engine->Submit(ga, 0, Shared(slow.base_url() + "/item/7"));
  engine->Submit(gb, 0, Shared(slow.base_url() + "/item/7"));
  engine->CancelGroup(ga, FetchOutcome::kCancelled);
  ASSERT_TRUE(a.Wait(1, Slack(absl::Seconds(5))));
  ASSERT_TRUE(b.Wait(1, Slack(absl::Seconds(5))));
  EXPECT_EQ(a.results()[0].outcome, FetchOutcome::kCancelled);
  EXPECT_EQ(b.results()[0].outcome, FetchOutcome::kResponse);  // not cancelled by A's cancel
  EXPECT_EQ(b.results()[0].http_status, 200);
  engine->CloseGroup(ga);
  engine->CloseGroup(gb);
}

// 2% of requests (every 50th to arrive) take 1 s; the rest answer at once.
struct SlowTail {
  std::atomic<int> requests{0};
  void Install(TestUpstream& upstream) {
    upstream.Get(R"(/tail/(\d+))", [this, &upstream](const httplib::Request&, httplib::Response& response) {
      if (++requests % 50 == 7) upstream.Delay(absl::Seconds(1));
      response.set_content("{}", "application/json");
    });
  }
};

absl::Duration P99(const std::map<uint64_t, FetchResult>& results) {
  std::vector<absl::Duration> latencies;
  for (const auto& [tag, result] : results) latencies.push_back(result.latency);
  std::sort(latencies.begin(), latencies.end());
  return latencies[latencies.size() * 99 / 100];
}

TEST_F(RetryRateTest, HedgingCutsTheTailForAFewPercentMoreRequests) {
  const int n = 1000;
  absl::Duration p99[2];
  int requests[2];
  for (int hedged = 0; hedged < 2; ++hedged) {
    TestUpstream tail_upstream;
    SlowTail tail;
    tail.Install(tail_upstream);
    tail_upstream.Start();
    auto engine = MakeEngine();
    CollectingSink sink;
    GroupOptions options;
    options.max_concurrency = 50;
    options.hedge_auto = hedged == 1;
    GroupId group = engine->OpenGroup(&sink, options);
    for (int i = 0; i < n; ++i) {
      engine->Submit(group, i, Get(absl::StrCat(tail_upstream.base_url(), "/tail/", i), 1));
    }
    ASSERT_TRUE(sink.Wait(n));
    for (auto& [tag, result] : sink.results()) ASSERT_EQ(result.http_status, 200);
    p99[hedged] = P99(sink.results());
    requests[hedged] = tail.requests.load();
    if (hedged == 1) {
      EXPECT_GT(engine->stats().hedges_won.load(), 0);
    }
    engine->CloseGroup(group);
  }
  std::cerr << "p99 without hedging " << p99[0] << " (" << requests[0] << " requests), with "
            << p99[1] << " (" << requests[1] << " requests)\n";
  EXPECT_GE(p99[0], absl::Milliseconds(900));
  if (::gather::testing::kUnderSanitizer) {
    // The hedge fires at the fast requests' p95 (+20%), which a sanitizer inflates toward the
    // 1 s tail: the cut measures the instrumentation, not hedging. hedges_won above still holds.
    std::cerr << "p99 cut not checked under " << ::gather::testing::kSanitizer << "\n";
  } else {
    EXPECT_LE(p99[1] * 5, p99[0]) << "hedging must cut p99 at least 5x";
  }
  // The hedge fires past 1.2 x the host's p95, so about 5% of requests get one. A sanitizer's
  // own latency noise pushes more requests past that line (a TSan run measured 6.9%).
  const double extra = ::gather::testing::kUnderSanitizer ? 1.10 : 1.05;
  EXPECT_LE(requests[1], n * extra) << "hedging costs a few % more requests, not more";
}

}  // namespace
}  // namespace gather::fetch
