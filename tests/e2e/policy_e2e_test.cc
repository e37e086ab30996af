// End to end: rate limits and admission control through a real gatherd and the gather CLI.
#include <stdlib.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;

// Answers 429 (Retry-After: 1) to any request beyond `limit` in the last second; records the
// arrival time of every request it accepted.
class LimitedApi {
 public:
  explicit LimitedApi(int limit) : limit_(limit) {}
  void Install(TestUpstream& upstream) {
    upstream.Get(R"(/items/(\d+))", [this](const httplib::Request&, httplib::Response& response) {
      absl::Time now = absl::Now();
      std::lock_guard<std::mutex> lock(mu_);
      while (!window_.empty() && now - window_.front() >= absl::Seconds(1)) window_.pop_front();
      if (static_cast<int>(window_.size()) >= limit_) {
        ++rejected_;
        response.status = 429;
        response.set_header("Retry-After", "1");
        return;
      }
      window_.push_back(now);
      accepted_.push_back(now);
      response.set_content("{\"name\":\"item\"}", "application/json");
    });
  }
  int rejected() {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }
  std::vector<absl::Time> accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }

 private:
  const int limit_;
  std::mutex mu_;
  std::deque<absl::Time> window_;
  std::vector<absl::Time> accepted_;
  int rejected_ = 0;
};

std::string TempDir() {
  char dir[] = "/tmp/gather_policy_e2e_XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return dir;
}

TEST(PolicyE2eTest, ARateUnderTheApiLimitDrawsNo429s) {
  LimitedApi api(200);
  TestUpstream upstream;
  api.Install(upstream);
  upstream.Start();
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8"});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  std::string dir = TempDir();
  const int n = 600;  // ~4 s at 150/s
  {
    std::ofstream keys(dir + "/keys.txt");
    for (int i = 0; i < n; ++i) keys << i << "\n";
  }
  RunResult run = ::gather::testing::Run({kBin + "/gather", "--server", gatherd->address, "lookup", "--template",
                       upstream.base_url() + "/items/{key}", "--keys", dir + "/keys.txt",
                       "--field", "name=/name", "--rate", "150", "--concurrency", "50",
                       "--out", dir + "/out.jsonl"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(api.rejected(), 0);
  std::vector<absl::Time> accepted = api.accepted();
  ASSERT_EQ(accepted.size(), static_cast<size_t>(n));
  std::sort(accepted.begin(), accepted.end());
  // The rate measured at the upstream over the run, the first burst (15) aside.
  double rate = (n - 15) / absl::ToDoubleSeconds(accepted.back() - accepted.front());
  EXPECT_GT(rate, 150 * 0.85);
  EXPECT_LT(rate, 150 * 1.15);
  std::filesystem::remove_all(dir);
  gatherd->process.Terminate(SIGTERM);
}

TEST(PolicyE2eTest, RateAutoFindsAnUnknownLimit) {
  LimitedApi api(200);
  TestUpstream upstream;
  api.Install(upstream);
  upstream.Start();
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8"});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  std::string dir = TempDir();
  const int n = 2000;
  {
    std::ofstream keys(dir + "/keys.txt");
    for (int i = 0; i < n; ++i) keys << i << "\n";
  }
  absl::Time start = absl::Now();
  RunResult run = ::gather::testing::Run(
      {kBin + "/gather", "--server", gatherd->address, "lookup", "--template",
       upstream.base_url() + "/items/{key}", "--keys", dir + "/keys.txt", "--field", "name=/name",
       "--rate", "auto", "--concurrency", "50", "--out", dir + "/out.jsonl"});
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  EXPECT_EQ(run.exit_code, 0) << run.err;  // the few 429s were retried
  int accepted = static_cast<int>(api.accepted().size());
  double throttled = static_cast<double>(api.rejected()) / (accepted + api.rejected());
  std::cerr << "rate auto against a 200/s limit: " << n / seconds << " keys/s, "
            << 100 * throttled << "% of requests got a 429; " << run.err;
  EXPECT_EQ(accepted, n);
  EXPECT_LT(throttled, 0.05);
  // Wall time includes the CLI's and the server's own work, which a sanitizer slows.
  EXPECT_GE(n / seconds, 150 / TimeSlack());
  EXPECT_NE(run.err.find("(found)"), std::string::npos) << run.err;
  std::filesystem::remove_all(dir);
  gatherd->process.Terminate(SIGTERM);
}

TEST(PolicyE2eTest, ExcessRpcsAreRefusedAtOnceAndTheAdmittedOnesComplete) {
  TestUpstream upstream;
  upstream.Get(R"(/slow/(\d+))", [&upstream](const httplib::Request&, httplib::Response& response) {
    upstream.Delay(Slack(absl::Milliseconds(300)));
    response.set_content("{\"v\":1}", "application/json");
  });
  upstream.Start();
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--max_rpcs=4", "--shutdown_grace=0.5"});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  auto channel = grpc::CreateChannel(gatherd->address, grpc::InsecureChannelCredentials());
  auto stub = v1::Gather::NewStub(channel);
  ASSERT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5)));

  const int rpcs = 200;
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::atomic<int64_t> slowest_refusal_ms{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < rpcs; ++t) {
    threads.emplace_back([&, t] {
      v1::FetchAndRankRequest request;
      for (int j = 0; j < 5; ++j) {
        request.add_jobs()->set_url(absl::StrCat(upstream.base_url(), "/slow/", t * 10 + j));
      }
      request.mutable_score()->set_values_pointer("/v");
      request.mutable_score()->set_row_reducer(v1::REDUCER_MEAN);
      request.mutable_score()->set_across_reducer(v1::REDUCER_MEAN);
      grpc::ClientContext context;
      absl::Time start = absl::Now();
      auto reader = stub->FetchAndRank(&context, request);
      v1::FetchAndRankResponse response;
      int results = 0;
      while (reader->Read(&response)) results += response.has_result() ? 1 : 0;
      grpc::Status status = reader->Finish();
      if (status.ok() && results == 5) {
        ++ok;
      } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++exhausted;
        int64_t ms = absl::ToInt64Milliseconds(absl::Now() - start);
        int64_t seen = slowest_refusal_ms.load();
        while (ms > seen && !slowest_refusal_ms.compare_exchange_weak(seen, ms)) {
        }
      } else {
        ++other;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok + exhausted, rpcs);
  EXPECT_EQ(other, 0);
  EXPECT_GE(ok, 4);
  EXPECT_GT(exhausted, rpcs / 2);
  // An admitted call holds its slot for at least the upstream's delay: a refusal that waited
  // for a slot would take longer than this bound (both widen together under ASan). Under TSan
  // the 200 client threads' own call set-up takes seconds, far past any such bound.
  if (kUnderThreadSanitizer) {
    std::cerr << "refusal latency not checked under ThreadSanitizer (slowest "
              << slowest_refusal_ms.load() << " ms)\n";
  } else {
    EXPECT_LT(slowest_refusal_ms.load(),
              absl::ToInt64Milliseconds(Slack(absl::Milliseconds(250))))
        << "a refusal must not wait for a slot";
  }
  gatherd->process.Terminate(SIGTERM);
}

TEST(PolicyE2eTest, TheServerJobQueueIsBounded) {
  TestUpstream upstream;
  upstream.Get(R"(/slow/(\d+))", [&upstream](const httplib::Request&, httplib::Response& response) {
    upstream.Delay(absl::Milliseconds(500));
    response.set_content("{\"v\":1}", "application/json");
  });
  upstream.Start();
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--max_queued_jobs=100",
                                     "--shutdown_grace=0.5"});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  auto stub = v1::Gather::NewStub(
      grpc::CreateChannel(gatherd->address, grpc::InsecureChannelCredentials()));
  v1::FetchAndRankRequest request;
  for (int j = 0; j < 101; ++j) {
    request.add_jobs()->set_url(absl::StrCat(upstream.base_url(), "/slow/", j));
  }
  request.mutable_score()->set_values_pointer("/v");
  request.mutable_score()->set_row_reducer(v1::REDUCER_MEAN);
  request.mutable_score()->set_across_reducer(v1::REDUCER_MEAN);
  grpc::ClientContext context;
  auto reader = stub->FetchAndRank(&context, request);
  v1::FetchAndRankResponse response;
  while (reader->Read(&response)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("--max_queued_jobs"), std::string::npos);
  gatherd->process.Terminate(SIGTERM);
}

}  // namespace
}  // namespace gather::testing
