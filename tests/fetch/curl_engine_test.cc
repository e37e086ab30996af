#include "service/fetch/curl_engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "service/rpc/status_convert.h"
#include "tests/support/engine_helpers.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::fetch {
namespace {

using ::gather::testing::CollectingSink;
using ::gather::testing::LoopbackOptions;
using ::gather::testing::Slack;
using ::gather::testing::SlackBelow;
using ::gather::testing::TestUpstream;

// Counts requests as they arrive; lets a test wait (without sleeping) until N are in progress.
class Latch {
 public:
  void Arrive() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return count_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

FetchRequest Get(const std::string& url, absl::Duration timeout = absl::Seconds(10),
                 uint64_t max_body = 8u << 20) {
  FetchRequest request;
  request.url = url;
  request.timeout = timeout;
  request.max_body_bytes = max_body;
  return request;
}

// Every test runs with one loop and with two (EngineOptions::loops).
class CurlEngineTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    upstream_.Get("/ok", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("{\"value\":1}", "application/json");
    });
    upstream_.Get(R"(/status/(\d+))", [](const httplib::Request& request, httplib::Response& response) {
      response.status = std::stoi(request.matches[1]);
      response.set_content("{}", "application/json");
    });
    upstream_.Get(R"(/slow/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      arrivals_.Arrive();
      upstream_.Delay(absl::Milliseconds(std::stoi(request.matches[1])));
      response.set_content("{\"slow\":true}", "application/json");
    });
    upstream_.Get(R"(/redirect-to/(\d+))", [](const httplib::Request& request, httplib::Response& response) {
      response.status = 302;
      response.set_header("Location", absl::StrCat("http://127.0.0.2:", request.matches[1].str(), "/via-redirect"));
    });
    upstream_.Get(R"(/big/(\d+))", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(std::string(std::stoul(request.matches[1]), 'x'), "text/plain");
    });
    upstream_.Get(R"(/chunked/(\d+))", [](const httplib::Request& request, httplib::Response& response) {
      size_t total = std::stoul(request.matches[1]);
      response.set_chunked_content_provider("application/octet-stream",
                                            [total](size_t offset, httplib::DataSink& sink) {
        if (offset >= total) {
          sink.done();
          return true;
        }
        std::string chunk(std::min<size_t>(16384, total - offset), 'y');
        return sink.write(chunk.data(), chunk.size());
      });
    });
    upstream_.Start();
    auto engine = CurlEngine::Create(Options());
    ASSERT_TRUE(engine.ok());
    engine_ = *std::move(engine);
  }
  void TearDown() override {
    engine_.reset();
    upstream_.Stop();
  }
  std::string Url(const std::string& path) { return upstream_.base_url() + path; }
  EngineOptions Options() {
    EngineOptions options = LoopbackOptions();
    options.loops = GetParam();
    return options;
  }

  TestUpstream upstream_;
  Latch arrivals_;
  std::unique_ptr<CurlEngine> engine_;
};

TEST_P(CurlEngineTest, FetchesAndReportsHttpCodes) {
  CollectingSink sink;
  GroupId group = engine_->OpenGroup(&sink, GroupOptions{});
  engine_->Submit(group, 0, Get(Url("/ok")));
  engine_->Submit(group, 1, Get(Url("/status/404")));
  engine_->Submit(group, 2, Get(Url("/status/500")));
  engine_->Submit(group, 3, Get(Url("/status/429")));
  engine_->Submit(group, 4, Get(Url("/status/302")));
  ASSERT_TRUE(sink.Wait(5));
  auto results = sink.results();
  EXPECT_EQ(results[0].outcome, FetchOutcome::kResponse);
  EXPECT_EQ(results[0].http_status, 200);
  EXPECT_EQ(results[0].body, "{\"value\":1}");
  EXPECT_EQ(results[0].attempts, 1u);
  std::string error;
  EXPECT_EQ(rpc::JobStatusOf(results[0], 0, &error), v1::JOB_STATUS_OK);
  EXPECT_EQ(rpc::JobStatusOf(results[1], 0, &error), v1::JOB_STATUS_HTTP_ERROR);
  EXPECT_EQ(results[1].http_status, 404);
  EXPECT_EQ(rpc::JobStatusOf(results[2], 0, &error), v1::JOB_STATUS_HTTP_ERROR);
  EXPECT_EQ(error, "HTTP 500");
  EXPECT_EQ(rpc::JobStatusOf(results[3], 0, &error), v1::JOB_STATUS_RATE_LIMITED);
  EXPECT_EQ(rpc::JobStatusOf(results[4], 0, &error), v1::JOB_STATUS_REDIRECT_ERROR);
  EXPECT_TRUE(sink.ExactlyOnce());
  engine_->CloseGroup(group);
}

TEST_P(CurlEngineTest, GroupCapIsNeverExceeded) {
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 20;
  GroupId group = engine_->OpenGroup(&sink, options);
  std::vector<std::pair<uint64_t, FetchRequest>> batch;
  for (uint64_t i = 0; i < 200; ++i) batch.emplace_back(i, Get(Url("/slow/20")));
  engine_->SubmitBatch(group, std::move(batch));
  ASSERT_TRUE(sink.Wait(200));
  EXPECT_LE(upstream_.max_in_flight(), 20);
  EXPECT_GE(upstream_.max_in_flight(), 15);  // the cap was actually used
  EXPECT_LE(engine_->stats().max_inflight_seen.load(), 20);
  for (auto& [tag, result] : sink.results()) EXPECT_EQ(result.http_status, 200) << tag;
  EXPECT_TRUE(sink.ExactlyOnce());
  EXPECT_EQ(engine_->stats().inflight.load(), 0);
}

TEST_P(CurlEngineTest, GlobalAndPerHostCapsHoldAcrossGroups) {
  EngineOptions options = Options();
  options.max_inflight = 12;
  options.max_per_host = 8;
  auto engine = CurlEngine::Create(std::move(options));
  ASSERT_TRUE(engine.ok());
  CollectingSink a, b;
  GroupOptions group_options;
  group_options.max_concurrency = 100;
  GroupId ga = (*engine)->OpenGroup(&a, group_options);
  GroupId gb = (*engine)->OpenGroup(&b, group_options);
  for (uint64_t i = 0; i < 60; ++i) {
    (*engine)->Submit(ga, i, Get(Url("/slow/10")));
    (*engine)->Submit(gb, i, Get(Url("/slow/10")));
  }
  ASSERT_TRUE(a.Wait(60));
  ASSERT_TRUE(b.Wait(60));
  // One host here: the per-host cap (8) binds before the global one (12).
  EXPECT_LE(upstream_.max_in_flight(), 8);
  EXPECT_LE((*engine)->stats().max_inflight_seen.load(), 8);
}

TEST_P(CurlEngineTest, SlowUpstreamTimesOut) {
  CollectingSink sink;
  GroupId group = engine_->OpenGroup(&sink, GroupOptions{});
  absl::Time start = absl::Now();
  engine_->Submit(group, 7, Get(Url("/slow/10000"), absl::Milliseconds(300)));
  ASSERT_TRUE(sink.Wait(1));
  FetchResult result = sink.results()[7];
  EXPECT_EQ(result.outcome, FetchOutcome::kTimeout);
  EXPECT_LT(absl::Now() - start, SlackBelow(absl::Seconds(3), absl::Seconds(8)));
  EXPECT_GE(result.latency, absl::Milliseconds(250));
  std::string error;
  EXPECT_EQ(rpc::JobStatusOf(result, 0, &error), v1::JOB_STATUS_TIMEOUT);
}

TEST_P(CurlEngineTest, QueueTimeDoesNotCountAgainstTheTimeout) {
  // Cap 1, twelve 100 ms jobs with a 1 s timeout: the last waits over 1 s in the queue yet must
  // not time out, because its timeout starts with its transfer.
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 1;
  GroupId group = engine_->OpenGroup(&sink, options);
  for (uint64_t i = 0; i < 12; ++i) {
    engine_->Submit(group, i, Get(Url("/slow/100"), absl::Milliseconds(1000)));
  }
  ASSERT_TRUE(sink.Wait(12));
  auto results = sink.results();
  for (auto& [tag, result] : results) EXPECT_EQ(result.outcome, FetchOutcome::kResponse) << tag;
  EXPECT_GE(results[11].queue_wait, absl::Milliseconds(1000));
  EXPECT_LE(upstream_.max_in_flight(), 1);
}

TEST_P(CurlEngineTest, GroupDeadlineEndsQueuedAndRunningJobs) {
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 2;
  options.deadline = absl::Now() + absl::Milliseconds(400);
  GroupId group = engine_->OpenGroup(&sink, options);
  for (uint64_t i = 0; i < 6; ++i) engine_->Submit(group, i, Get(Url("/slow/10000")));
  absl::Time start = absl::Now();
  ASSERT_TRUE(sink.Wait(6));
  EXPECT_LT(absl::Now() - start, SlackBelow(absl::Seconds(3), absl::Seconds(8)));
  for (auto& [tag, result] : sink.results()) EXPECT_EQ(result.outcome, FetchOutcome::kTimeout) << tag;
  EXPECT_EQ(engine_->stats().inflight.load(), 0);
  EXPECT_EQ(engine_->stats().queued.load(), 0);
}

TEST_P(CurlEngineTest, BodyCapHoldsForSizedChunkedAndCompressedBodies) {
  CollectingSink sink;
  GroupId group = engine_->OpenGroup(&sink, GroupOptions{});
  engine_->Submit(group, 0, Get(Url("/big/500000"), absl::Seconds(10), 100000));
  engine_->Submit(group, 1, Get(Url("/chunked/500000"), absl::Seconds(10), 100000));
  engine_->Submit(group, 2, Get(Url("/big/90000"), absl::Seconds(10), 100000));
  // cpp-httplib compresses text/plain for clients that accept it: 4 MB of 'x' is a few KB on
  // the wire, and must still stop at the decompressed cap.
  engine_->Submit(group, 3, Get(Url("/big/4000000"), absl::Seconds(10), 100000));
  ASSERT_TRUE(sink.Wait(4));
  auto results = sink.results();
  EXPECT_EQ(results[0].outcome, FetchOutcome::kTooLarge);
  EXPECT_EQ(results[1].outcome, FetchOutcome::kTooLarge);
  EXPECT_EQ(results[2].outcome, FetchOutcome::kResponse);
  EXPECT_EQ(results[2].body.size(), 90000u);
  EXPECT_EQ(results[3].outcome, FetchOutcome::kTooLarge);
  std::string error;
  EXPECT_EQ(rpc::JobStatusOf(results[1], 0, &error), v1::JOB_STATUS_TOO_LARGE);
}

TEST_P(CurlEngineTest, CancelEndsInFlightTransfersPromptly) {
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 5;
  GroupId group = engine_->OpenGroup(&sink, options);
  for (uint64_t i = 0; i < 20; ++i) engine_->Submit(group, i, Get(Url("/slow/20000"), absl::Seconds(60)));
  ASSERT_TRUE(arrivals_.WaitFor(5));  // five transfers are in the upstream's hands
  absl::Time start = absl::Now();
  engine_->CancelGroup(group, FetchOutcome::kCancelled);
  ASSERT_TRUE(sink.Wait(20, Slack(absl::Seconds(5))));
  EXPECT_LT(absl::Now() - start, SlackBelow(absl::Seconds(2), absl::Seconds(15)));
  for (auto& [tag, result] : sink.results()) EXPECT_EQ(result.outcome, FetchOutcome::kCancelled) << tag;
  EXPECT_TRUE(sink.ExactlyOnce());
  EXPECT_EQ(engine_->stats().inflight.load(), 0);
  EXPECT_EQ(engine_->stats().queued.load(), 0);
  EXPECT_LT(upstream_.requests(), 20);  // the queued jobs never reached the upstream
}

TEST_P(CurlEngineTest, RefusedConnectionIsConnectError) {
  // A bound socket that does not listen: connections to it are refused, and no other process
  // can take the port while the test runs.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);
  CollectingSink sink;
  GroupId group = engine_->OpenGroup(&sink, GroupOptions{});
  engine_->Submit(group, 0, Get(absl::StrCat("http://127.0.0.1:", port, "/x"), absl::Seconds(5)));
  ASSERT_TRUE(sink.Wait(1));
  EXPECT_EQ(sink.results()[0].outcome, FetchOutcome::kConnectError);
  close(fd);
}

TEST_P(CurlEngineTest, EgressPolicyBlocksAtConnectTime) {
  // A listener on 127.0.0.2 that must never see a connection.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &address.sin_addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);

  EngineOptions options;
  options.loops = GetParam();
  options.egress = policy::EgressPolicy(policy::ParseCidrList("127.0.0.1/32").value(),
                                        policy::ParseCidrList("127.0.0.2/32").value());
  options.follow_redirects = 3;
  // A name pinned to the denied address (as a DNS answer would be).
  options.resolve = {absl::StrCat("denied.example:", port, ":127.0.0.2")};
  auto engine = CurlEngine::Create(std::move(options));
  ASSERT_TRUE(engine.ok());
  CollectingSink sink;
  GroupId group = (*engine)->OpenGroup(&sink, GroupOptions{});
  (*engine)->Submit(group, 0, Get(absl::StrCat("http://127.0.0.2:", port, "/direct")));
  (*engine)->Submit(group, 1, Get(Url("/ok")));
  // An allowed upstream that redirects to the denied address: the hop is checked too.
  (*engine)->Submit(group, 2, Get(Url(absl::StrCat("/redirect-to/", port))));
  (*engine)->Submit(group, 3, Get(absl::StrCat("http://denied.example:", port, "/pinned")));
  ASSERT_TRUE(sink.Wait(4));
  auto results = sink.results();
  EXPECT_EQ(results[0].outcome, FetchOutcome::kBlocked);
  EXPECT_NE(results[0].error.find("127.0.0.2"), std::string::npos);
  EXPECT_EQ(results[1].outcome, FetchOutcome::kResponse);
  EXPECT_EQ(results[2].outcome, FetchOutcome::kBlocked) << results[2].error;
  EXPECT_EQ(results[3].outcome, FetchOutcome::kBlocked) << results[3].error;
  EXPECT_NE(results[3].error.find("127.0.0.2"), std::string::npos);
  int accepted = accept(fd, nullptr, nullptr);
  EXPECT_LT(accepted, 0);  // EAGAIN: no connection ever reached the listener
  if (accepted >= 0) close(accepted);
  close(fd);
}

TEST_P(CurlEngineTest, EgressHostPatternsAllowAndDenyByName) {
  // No CIDR opens loopback: only names decide. Every name is pinned to the upstream's address.
  EngineOptions options;
  options.loops = GetParam();
  options.egress = policy::EgressPolicy(
      {}, {}, policy::HostPatterns::Parse("allowed.example,*.svc.example").value(),
      policy::HostPatterns::Parse("*.bad.svc.example").value());
  const int port = upstream_.port();
  for (const char* name : {"allowed.example", "api.svc.example", "x.bad.svc.example", "other.example"}) {
    options.resolve.push_back(absl::StrCat(name, ":", port, ":127.0.0.1"));
  }
  auto engine = CurlEngine::Create(std::move(options));
  ASSERT_TRUE(engine.ok());
  CollectingSink sink;
  GroupId group = (*engine)->OpenGroup(&sink, GroupOptions{});
  auto url = [&](const char* name) { return absl::StrCat("http://", name, ":", port, "/ok"); };
  (*engine)->Submit(group, 0, Get(url("allowed.example")));
  (*engine)->Submit(group, 1, Get(url("api.svc.example")));
  (*engine)->Submit(group, 2, Get(url("x.bad.svc.example")));  // deny wins over allow
  (*engine)->Submit(group, 3, Get(url("other.example")));      // loopback, not allowed
  ASSERT_TRUE(sink.Wait(4));
  auto results = sink.results();
  EXPECT_EQ(results[0].outcome, FetchOutcome::kResponse) << results[0].error;
  EXPECT_EQ(results[1].outcome, FetchOutcome::kResponse) << results[1].error;
  EXPECT_EQ(results[2].outcome, FetchOutcome::kBlocked);
  EXPECT_NE(results[2].error.find("--egress_deny_hosts"), std::string::npos) << results[2].error;
  EXPECT_EQ(results[3].outcome, FetchOutcome::kBlocked);
  EXPECT_NE(results[3].error.find("loopback"), std::string::npos) << results[3].error;
}

TEST_P(CurlEngineTest, StopCancelsEverythingExactlyOnce) {
  auto engine = CurlEngine::Create(Options());
  ASSERT_TRUE(engine.ok());
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 3;
  GroupId group = (*engine)->OpenGroup(&sink, options);
  for (uint64_t i = 0; i < 10; ++i) (*engine)->Submit(group, i, Get(Url("/slow/20000")));
  ASSERT_TRUE(arrivals_.WaitFor(3));
  (*engine)->Stop();
  ASSERT_TRUE(sink.Wait(10, Slack(absl::Seconds(1))));
  for (auto& [tag, result] : sink.results()) EXPECT_EQ(result.outcome, FetchOutcome::kCancelled);
  EXPECT_TRUE(sink.ExactlyOnce());
}

TEST_P(CurlEngineTest, StopCompletesJobsASinkSubmitsWhileTheLoopsStop) {
  // The sink answers its first job's completion by submitting 8 more (as FetchAndRank does when
  // its index arrives). Stop() cancels the first; the 8 land on loops that may already have
  // stopped, and must still end exactly once.
  class ChainingSink : public CollectingSink {
   public:
    void OnFetchDone(uint64_t tag, FetchResult& result) override {
      if (tag == 0) {
        std::vector<std::pair<uint64_t, FetchRequest>> more;
        for (uint64_t i = 1; i <= 8; ++i) more.emplace_back(i, Get(url));
        engine->SubmitBatch(group, std::move(more));
      }
      CollectingSink::OnFetchDone(tag, result);
    }
    CurlEngine* engine = nullptr;
    GroupId group = 0;
    std::string url;
  };
  auto engine = CurlEngine::Create(Options());
  ASSERT_TRUE(engine.ok());
  ChainingSink sink;
  sink.engine = engine->get();
  sink.url = Url("/slow/20000");
  GroupOptions options;
  options.max_concurrency = 4;
  sink.group = (*engine)->OpenGroup(&sink, options);
  (*engine)->Submit(sink.group, 0, Get(Url("/slow/20000")));
  ASSERT_TRUE(arrivals_.WaitFor(1));
  (*engine)->Stop();
  ASSERT_TRUE(sink.Wait(9, Slack(absl::Seconds(1))));
  for (auto& [tag, result] : sink.results()) EXPECT_EQ(result.outcome, FetchOutcome::kCancelled) << tag;
  EXPECT_TRUE(sink.ExactlyOnce());
}

// Which thread delivered each completion: with two loops, which loop ran the job.
class ThreadRecordingSink : public CollectingSink {
 public:
  void OnFetchDone(uint64_t tag, FetchResult& result) override {
    {
      std::lock_guard<std::mutex> lock(threads_mu_);
      threads_[tag] = std::this_thread::get_id();
    }
    CollectingSink::OnFetchDone(tag, result);
  }
  std::map<uint64_t, std::thread::id> threads() {
    std::lock_guard<std::mutex> lock(threads_mu_);
    return threads_;
  }

 private:
  std::mutex threads_mu_;
  std::map<uint64_t, std::thread::id> threads_;
};

std::set<std::thread::id> Distinct(const std::map<uint64_t, std::thread::id>& threads) {
  std::set<std::thread::id> out;
  for (auto& [tag, id] : threads) out.insert(id);
  return out;
}

TEST_P(CurlEngineTest, JobsSpreadOverLoopsButALimitedHostStaysOnOne) {
  // 40 distinct URLs on the one upstream host, one at a time; true once all have completed.
  auto fetch_40 = [this](CollectingSink& sink, GroupId group, const std::string& name) {
    for (uint64_t i = 0; i < 40; ++i) {
      engine_->Submit(group, i, Get(Url(absl::StrCat("/ok?", name, "=", i))));
    }
    return sink.Wait(40);
  };
  // A group without a rate uses every loop.
  ThreadRecordingSink spread;
  GroupOptions free_options;
  free_options.max_concurrency = 10;
  GroupId free_group = engine_->OpenGroup(&spread, free_options);
  ASSERT_TRUE(fetch_40(spread, free_group, "i"));
  EXPECT_TRUE(spread.ExactlyOnce());
  EXPECT_EQ(Distinct(spread.threads()).size(), static_cast<size_t>(GetParam()));
  engine_->CloseGroup(free_group);

  // A rate-limited group makes its host limited: while it is open, every job to that host, of
  // any group, runs on the loop holding the host's bucket.
  ThreadRecordingSink limited;
  GroupOptions limited_options;
  limited_options.rate = 100000;  // never waits here; what matters is that there is one
  GroupId limited_group = engine_->OpenGroup(&limited, limited_options);
  engine_->Submit(limited_group, 0, Get(Url("/ok?limited")));
  ASSERT_TRUE(limited.Wait(1));
  ThreadRecordingSink pinned;
  GroupId pinned_group = engine_->OpenGroup(&pinned, free_options);
  ASSERT_TRUE(fetch_40(pinned, pinned_group, "p"));
  EXPECT_EQ(Distinct(pinned.threads()), Distinct(limited.threads()));
  for (auto& [tag, result] : pinned.results()) EXPECT_EQ(result.http_status, 200) << tag;
  engine_->CloseGroup(pinned_group);
  engine_->CloseGroup(limited_group);

  // Once it closed, the host is free again.
  ThreadRecordingSink again;
  GroupId again_group = engine_->OpenGroup(&again, free_options);
  ASSERT_TRUE(fetch_40(again, again_group, "a"));
  EXPECT_EQ(Distinct(again.threads()).size(), static_cast<size_t>(GetParam()));
  engine_->CloseGroup(again_group);
}

TEST_P(CurlEngineTest, IdenticalRequestsMeetInOneLoopAndCoalesce) {
  CollectingSink sink;
  GroupOptions options;
  options.max_concurrency = 8;
  GroupId group = engine_->OpenGroup(&sink, options);
  std::vector<std::pair<uint64_t, FetchRequest>> batch;
  for (uint64_t i = 0; i < 30; ++i) {
    FetchRequest request = Get(Url("/slow/200"));
    request.coalesce = true;
    batch.emplace_back(i, std::move(request));
  }
  engine_->SubmitBatch(group, std::move(batch));
  ASSERT_TRUE(sink.Wait(30));
  EXPECT_EQ(upstream_.requests(), 1);  // one fetch answered all 30
  EXPECT_EQ(engine_->stats().coalesced.load(), 29);
  EXPECT_TRUE(sink.ExactlyOnce());
  engine_->CloseGroup(group);
}

INSTANTIATE_TEST_SUITE_P(Loops, CurlEngineTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return absl::StrCat(info.param, info.param == 1 ? "Loop" : "Loops");
                         });

}  // namespace
}  // namespace gather::fetch
