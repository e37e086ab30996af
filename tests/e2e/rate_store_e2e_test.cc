// End to end: several gatherd processes on one real redis-server (--rate_store) share one host's
// rate and quota, and finish every key exactly once when Redis dies mid-run. The upstream is a
// local API that allows a fixed number of requests per second (429 beyond) and records every
// arrival.
#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;
constexpr int kApiLimit = 200;  // requests per second the API allows

class RateStoreE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gather_ratestore_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    ASSERT_TRUE(redis_.Start().ok());
    upstream_.Get(R"(/e/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      const absl::Time now = absl::Now();
      bool over;
      {
        std::lock_guard<std::mutex> lock(mu_);
        arrivals_.push_back(now);
        int in_last_second = 0;
        for (auto it = arrivals_.rbegin(); it != arrivals_.rend() && now - *it < absl::Seconds(1);
             ++it) {
          ++in_last_second;
        }
        over = in_last_second > kApiLimit;
        if (over) ++throttled_;
        arrived_.notify_all();
      }
      if (over) {
        response.status = 429;
        return;
      }
      response.set_content(absl::StrCat("{\"id\":", request.matches[1].str(), "}"),
                           "application/json");
    });
    upstream_.Start();
  }
  void TearDown() override {
    gatherds_.clear();
    upstream_.Stop();
    std::filesystem::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void StartGatherds(int n, std::vector<std::string> flags) {
    flags.push_back("--egress_allow=127.0.0.0/8");
    flags.push_back("--rate_store=" + redis_.url());
    flags.push_back(absl::StrCat("--rate_store_replicas=", n));
    for (int i = 0; i < n; ++i) {
      auto gatherd = StartGatherd(kBin, flags, false);
      ASSERT_TRUE(gatherd.ok()) << gatherd.status();
      gatherds_.push_back(*std::move(gatherd));
    }
  }
  // Writes `n` keys offset by `first` and returns the gather lookup command for gatherd `i`.
  std::vector<std::string> Lookup(int i, int first, int n, const std::string& out) {
    std::string keys = Path(absl::StrCat("keys", i, ".txt"));
    std::ofstream file(keys);
    for (int k = first; k < first + n; ++k) file << k << "\n";
    return {kBin + "/gather", "--server", gatherds_[static_cast<size_t>(i)].address, "lookup",
            "--template", upstream_.base_url() + "/e/{key}", "--keys", keys, "--field", "id=/id",
            "--out", out, "--concurrency", "20"};
  }
  // Runs the lookups at once; returns their results.
  std::vector<RunResult> RunAll(const std::vector<std::vector<std::string>>& commands) {
    std::vector<std::thread> threads;
    std::vector<RunResult> results(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = ::gather::testing::Run(commands[i]); });
    }
    for (auto& thread : threads) thread.join();
    return results;
  }
  // The most requests that arrived within any one second, and the arrivals in all.
  std::pair<int, size_t> PeakPerSecond() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<absl::Time> all = arrivals_;
    std::sort(all.begin(), all.end());
    int peak = 0;
    for (size_t i = 0, j = 0; i < all.size(); ++i) {
      while (all[i] - all[j] >= absl::Seconds(1)) ++j;
      peak = std::max(peak, static_cast<int>(i - j + 1));
    }
    return {peak, all.size()};
  }
  int throttled() {
    std::lock_guard<std::mutex> lock(mu_);
    return throttled_;
  }
  // Blocks until the upstream has seen `n` requests.
  void WaitForArrivals(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    arrived_.wait(lock, [&] { return arrivals_.size() >= n; });
  }
  // Every key of [first, first + n) has exactly one row in `out`, OK.
  static void ExpectEveryKeyOnce(const std::string& out, int first, int n) {
    std::ifstream in(out);
    std::multiset<int> ids;
    for (std::string line; std::getline(in, line);) {
      nlohmann::json row = nlohmann::json::parse(line);
      EXPECT_EQ(row["status"], "OK") << line;
      ids.insert(std::stoi(row["key"].get<std::string>()));
    }
    EXPECT_EQ(ids.size(), static_cast<size_t>(n)) << out;
    for (int k = first; k < first + n; ++k) EXPECT_EQ(ids.count(k), 1u) << k;
  }

  RedisServer redis_;
  std::mutex mu_;  // arrivals_ and throttled_ are written by the upstream's threads
  std::condition_variable arrived_;
  std::vector<absl::Time> arrivals_;
  int throttled_ = 0;
  TestUpstream upstream_;
  std::vector<Gatherd> gatherds_;
  std::string dir_;
};

TEST_F(RateStoreE2eTest, ThreeReplicasShareOneHostRate) {
  // Each replica alone would send 100/s; together, without the store, 300/s (the API allows 200).
  constexpr int kRate = 100;
  StartGatherds(3, {absl::StrCat("--host_rate=127.0.0.1=", kRate)});
  const int n = Scaled(400, 100);
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < 3; ++i) commands.push_back(Lookup(i, i * n, n, Path(absl::StrCat("out", i, ".jsonl"))));
  std::vector<RunResult> results = RunAll(commands);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(results[static_cast<size_t>(i)].exit_code, 0) << results[static_cast<size_t>(i)].err;
    ExpectEveryKeyOnce(Path(absl::StrCat("out", i, ".jsonl")), i * n, n);
  }
  auto [peak, total] = PeakPerSecond();
  EXPECT_EQ(total, static_cast<size_t>(3 * n));  // not one 429 retried
  EXPECT_LE(peak, kRate * 1.15 + kRate / 10) << "requests in the busiest second";
  EXPECT_EQ(throttled(), 0);
}

TEST_F(RateStoreE2eTest, RedisKilledMidRunEveryKeyStillEndsOnce) {
  constexpr int kRate = 100;
  StartGatherds(2, {absl::StrCat("--host_rate=127.0.0.1=", kRate)});
  const int n = Scaled(300, 100);
  std::vector<std::vector<std::string>> commands = {Lookup(0, 0, n, Path("a.jsonl")),
                                                    Lookup(1, n, n, Path("b.jsonl"))};
  std::thread chaos([&] {
    WaitForArrivals(static_cast<size_t>(n) / 2);
    redis_.Kill();
    WaitForArrivals(static_cast<size_t>(n));
    ASSERT_TRUE(redis_.Start().ok());
  });
  std::vector<RunResult> results = RunAll(commands);
  chaos.join();
  for (const RunResult& result : results) ASSERT_EQ(result.exit_code, 0) << result.err;
  ExpectEveryKeyOnce(Path("a.jsonl"), 0, n);
  ExpectEveryKeyOnce(Path("b.jsonl"), n, n);
  // Without Redis each replica took half the rate: the API never saw more than it allows.
  EXPECT_EQ(throttled(), 0);
  EXPECT_LE(PeakPerSecond().first, kRate * 1.15 + kRate / 10);
}

TEST_F(RateStoreE2eTest, ASpentQuotaEndsTheRestAtOnceWithoutRequests) {
  constexpr int kQuota = 150;
  StartGatherds(2, {absl::StrCat("--host_quota=127.0.0.1=", kQuota, "/hour@Europe/Paris")});
  std::vector<std::vector<std::string>> commands = {Lookup(0, 0, 100, Path("a.jsonl")),
                                                    Lookup(1, 100, 100, Path("b.jsonl"))};
  std::vector<RunResult> results = RunAll(commands);
  int ok = 0, limited = 0;
  for (const char* name : {"a.jsonl", "b.jsonl"}) {
    std::ifstream in(Path(name));
    for (std::string line; std::getline(in, line);) {
      nlohmann::json row = nlohmann::json::parse(line);
      if (row["status"] == "OK") {
        ++ok;
      } else {
        EXPECT_EQ(row["status"], "RATE_LIMITED") << line;
        EXPECT_NE(row["error"].get<std::string>().find("quota spent until"), std::string::npos)
            << line;
        EXPECT_EQ(row["attempts"], 0) << line;
        ++limited;
      }
    }
  }
  EXPECT_EQ(ok, kQuota);
  EXPECT_EQ(limited, 200 - kQuota);
  EXPECT_EQ(PeakPerSecond().second, static_cast<size_t>(kQuota));  // no request past the quota
  bool said = false;
  for (const RunResult& result : results) said = said || result.err.find("quota left 0") != std::string::npos;
  EXPECT_TRUE(said) << results[0].err << results[1].err;
}

}  // namespace
}  // namespace gather::testing
