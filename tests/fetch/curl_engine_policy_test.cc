// How the engine's policies meet: hedges under a rate and a cap, coalescing under different
// retry policies, the headers a redirect carries to another origin, and the thread completions
// run on while the engine stops. Against local upstreams on 127.0.0.1.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "service/fetch/curl_engine.h"
#include "tests/support/engine_helpers.h"
#include "tests/support/rate_window.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::fetch {
namespace {

using ::gather::testing::CollectingSink;
using ::gather::testing::LoopbackOptions;
using ::gather::testing::MostWithin;
using ::gather::testing::TestUpstream;

FetchRequest Get(const std::string& url, int max_attempts = 1) {
  FetchRequest request;
  request.url = url;
  request.max_attempts = max_attempts;
  return request;
}

std::unique_ptr<CurlEngine> MakeEngine(EngineOptions options) {
  auto engine = CurlEngine::Create(std::move(options));
  EXPECT_TRUE(engine.ok());
  return *std::move(engine);
}

TEST(CurlEnginePolicyTest, HedgesTakeRateTokensAndGroupSlots) {
  std::mutex mu;
  std::vector<absl::Time> arrivals;
  TestUpstream upstream;
  upstream.Get(R"(/slow/(\d+))", [&](const httplib::Request&, httplib::Response& response) {
    {
      std::lock_guard<std::mutex> lock(mu);
      arrivals.push_back(absl::Now());
    }
    upstream.Delay(absl::Milliseconds(40));
    response.set_content("{}", "application/json");
  });
  upstream.Start();
  auto engine = MakeEngine(LoopbackOptions());
  CollectingSink sink;
  GroupOptions options;
  options.rate = 50;
  options.burst = 1;
  options.max_concurrency = 4;
  options.hedge_after = absl::Milliseconds(1);  // every transfer wants a hedge at once
  GroupId group = engine->OpenGroup(&sink, options);
  const int n = 60;
  for (int i = 0; i < n; ++i) engine->Submit(group, i, Get(upstream.base_url() + "/slow/" + std::to_string(i)));
  ASSERT_TRUE(sink.Wait(n));
  // A cancelled twin's request may still reach a handler now: read a copy taken under the lock.
  std::vector<absl::Time> seen;
  {
    std::lock_guard<std::mutex> lock(mu);
    seen = arrivals;
  }
  std::sort(seen.begin(), seen.end());
  // Hedges and first attempts together stay within the rate (50/s, burst 1) and the cap.
  EXPECT_LE(MostWithin(seen, absl::Seconds(1)), 50 + 1 + 1);
  // The group's cap counts hedges (the upstream may see more: a cancelled twin's handler runs on).
  EXPECT_LE(engine->stats().max_inflight_seen.load(), 4);
  EXPECT_GT(engine->stats().hedges.load(), 0);
  EXPECT_GE(static_cast<int>(seen.size()), n);
  engine->CloseGroup(group);
}

TEST(CurlEnginePolicyTest, ACallAllowedMoreAttemptsDoesNotGetAnotherCallsFailures) {
  std::mutex mu;
  std::map<std::string, int> attempts;
  TestUpstream upstream;
  // Each key fails twice with 503, then answers.
  upstream.Get(R"(/flaky/(\d+))", [&](const httplib::Request& request, httplib::Response& response) {
    int seen;
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = ++attempts[request.path];
    }
    response.status = seen <= 2 ? 503 : 200;
    response.set_content("{}", "application/json");
  });
  upstream.Start();
  EngineOptions engine_options = LoopbackOptions();
  engine_options.retry_budget_ratio = 10;  // wide open: the retry policy decides alone
  engine_options.retry_budget_min_per_second = 1000;
  engine_options.backoff.base = absl::Milliseconds(1);
  auto engine = MakeEngine(std::move(engine_options));
  const int n = 20;
  auto run = [&](int max_attempts) {
    CollectingSink sink;
    GroupId group = engine->OpenGroup(&sink, GroupOptions{});
    for (int i = 0; i < n; ++i) {
      FetchRequest request = Get(absl::StrCat(upstream.base_url(), "/flaky/", i), max_attempts);
      request.coalesce = true;
      engine->Submit(group, i, std::move(request));
    }
    EXPECT_TRUE(sink.Wait(n));
    engine->CloseGroup(group);
    return sink.results();
  };
  for (auto& [tag, result] : run(1)) EXPECT_EQ(result.http_status, 503) << tag;
  for (auto& [tag, result] : run(4)) {
    EXPECT_EQ(result.http_status, 200) << tag;
    EXPECT_FALSE(result.shared) << tag;
    EXPECT_EQ(result.attempts, 2u) << tag;  // its own two: the third and last the key needed
  }
}

class EngineRedirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    landing_.Get("/landing", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, value] : request.headers) seen_.insert(absl::AsciiStrToLower(name));
      response.set_content("{}", "application/json");
    });
    landing_.Start();
    origin_.Get("/away", [this](const httplib::Request&, httplib::Response& response) {
      response.status = 302;
      response.set_header("Location", landing_.base_url() + "/landing");
    });
    origin_.Start();
    EngineOptions options = LoopbackOptions();
    options.follow_redirects = 3;
    engine_ = MakeEngine(std::move(options));
  }
  FetchResult Fetch(bool keep_headers) {
    CollectingSink sink;
    GroupId group = engine_->OpenGroup(&sink, GroupOptions{});
    FetchRequest request = Get(origin_.base_url() + "/away");
    request.headers = std::make_shared<const HeaderSet>(std::vector<std::pair<std::string, std::string>>{
        {"Authorization", "Bearer s3cret"}, {"X-Api-Key", "k"}, {"Cookie", "a=b"},
        {"Accept", "application/json"}});
    request.redirect_keeps_headers = keep_headers;
    engine_->Submit(group, 0, std::move(request));
    EXPECT_TRUE(sink.Wait(1));
    engine_->CloseGroup(group);
    return sink.results()[0];
  }
  std::set<std::string> Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  std::mutex mu_;
  std::set<std::string> seen_;
  TestUpstream landing_;  // another port: another origin
  TestUpstream origin_;
  std::unique_ptr<CurlEngine> engine_;
};

TEST_F(EngineRedirectTest, AHopToAnotherOriginCarriesNoCallerSecrets) {
  FetchResult result = Fetch(false);
  EXPECT_EQ(result.outcome, FetchOutcome::kResponse) << result.error;
  EXPECT_EQ(result.http_status, 200);
  std::set<std::string> seen = Seen();
  EXPECT_FALSE(seen.contains("authorization"));
  EXPECT_FALSE(seen.contains("x-api-key"));
  EXPECT_FALSE(seen.contains("cookie"));
  EXPECT_TRUE(seen.contains("accept"));
}

TEST_F(EngineRedirectTest, ACallMayKeepItsHeadersAcrossOrigins) {
  FetchResult result = Fetch(true);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_TRUE(Seen().contains("x-api-key"));
}

TEST(CurlEngineStopTest, CompletionsRunOnLoopThreadsAlsoWhileStopping) {
  // The sink answers each completion by submitting another job, as a reactor may; everything
  // ends cancelled, exactly once, and never on the thread that called Stop().
  class ChainingSink : public CollectingSink {
   public:
    void OnFetchDone(uint64_t tag, FetchResult& result) override {
      {
        std::lock_guard<std::mutex> lock(threads_mu);
        threads.insert(std::this_thread::get_id());
      }
      if (tag < 20) engine->Submit(group, tag + 100, Get(url));
      CollectingSink::OnFetchDone(tag, result);
    }
    CurlEngine* engine = nullptr;
    GroupId group = 0;
    std::string url;
    std::mutex threads_mu;
    std::set<std::thread::id> threads;
  };
  TestUpstream upstream;
  upstream.Get("/hang", [&](const httplib::Request&, httplib::Response& response) {
    upstream.Delay(absl::Seconds(30));
    response.set_content("{}", "application/json");
  });
  upstream.Start();
  for (int loops : {1, 2}) {
    EngineOptions options = LoopbackOptions();
    options.loops = loops;
    auto engine = MakeEngine(std::move(options));
    ChainingSink sink;
    sink.engine = engine.get();
    sink.url = upstream.base_url() + "/hang";
    GroupOptions group_options;
    group_options.max_concurrency = 4;
    sink.group = engine->OpenGroup(&sink, group_options);
    for (uint64_t i = 0; i < 20; ++i) engine->Submit(sink.group, i, Get(sink.url));
    engine->Stop();
    ASSERT_TRUE(sink.Wait(40));
    engine->Submit(sink.group, 1000, Get(sink.url));  // after Stop: cancelled on a loop
    ASSERT_TRUE(sink.Wait(41));
    for (auto& [tag, result] : sink.results()) {
      EXPECT_EQ(result.outcome, FetchOutcome::kCancelled) << tag;
    }
    EXPECT_TRUE(sink.ExactlyOnce());
    std::lock_guard<std::mutex> lock(sink.threads_mu);
    EXPECT_FALSE(sink.threads.contains(std::this_thread::get_id()));
    engine->CloseGroup(sink.group);
  }
}

}  // namespace
}  // namespace gather::fetch
