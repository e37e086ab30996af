// End to end: a batch's retries wait for the retry budget instead of failing, and
// `gather lookup --resume --redo STATUSES` fetches again exactly the keys that failed, through a
// real gatherd against a local API that answers every key 503 twice before 200.
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;

class SecondPassE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gather_redo_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    // Every key: 503 twice, then 200 with its id.
    upstream_.Get(R"(/e/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      int seen;
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen = ++hits_[request.path];
      }
      if (seen <= 2) {
        response.status = 503;
        response.set_content("{\"error\":\"busy\"}", "application/json");
        return;
      }
      response.set_content(absl::StrCat("{\"id\":", request.matches[1].str(), "}"),
                           "application/json");
    });
    upstream_.Start();
    std::ofstream keys(Path("ids.txt"));
    for (int i = 0; i < kKeys; ++i) keys << i << "\n";
  }
  void TearDown() override {
    gatherd_.reset();
    upstream_.Stop();
    std::filesystem::remove_all(dir_);
  }
  void StartServer(std::vector<std::string> flags) {
    flags.push_back("--egress_allow=127.0.0.0/8");
    auto gatherd = StartGatherd(kBin, std::move(flags), false);
    ASSERT_TRUE(gatherd.ok()) << gatherd.status();
    gatherd_.emplace(*std::move(gatherd));
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::vector<std::string> Lookup(std::vector<std::string> extra) {
    std::vector<std::string> argv = {kBin + "/gather", "lookup", "--template",
                                     upstream_.base_url() + "/e/{key}", "--keys", Path("ids.txt"),
                                     "--field", "id=/id", "--server", gatherd_->address};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  int Hits(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_[path];
  }

  static constexpr int kKeys = 400;
  std::mutex mu_;  // hits_ is written by the upstream's threads
  std::map<std::string, int> hits_;
  TestUpstream upstream_;
  std::optional<Gatherd> gatherd_;
  std::string dir_;
};

std::vector<nlohmann::json> JsonLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

TEST_F(SecondPassE2eTest, RetriesTheBudgetCannotAffordWaitAndEveryKeyEndsOk) {
  // The budget's floor raised from 10 to 200 retries per second so the test takes ~4 s, not ~70:
  // 400 keys failing twice need 800 retries, 90 affordable at once with the defaults.
  StartServer({"--retry_budget_min_per_second=200"});
  RunResult run = ::gather::testing::Run(Lookup({"--out", Path("res.jsonl")}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<nlohmann::json> rows = JsonLines(Path("res.jsonl"));
  ASSERT_EQ(rows.size(), static_cast<size_t>(kKeys));
  std::set<uint64_t> seqs;
  for (const auto& row : rows) {
    EXPECT_EQ(row["status"], "OK") << row.dump();
    EXPECT_EQ(row["fields"]["id"], std::stoi(row["key"].get<std::string>()));
    seqs.insert(row["seq"].get<uint64_t>());
  }
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kKeys));
  EXPECT_NE(run.err.find("OK 400"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("keys waited for the retry budget"), std::string::npos) << run.err;
}

TEST_F(SecondPassE2eTest, RedoFetchesExactlyTheFailedKeysAgainOnce) {
  StartServer({});
  // First pass without retries: every key fails (503).
  RunResult first = ::gather::testing::Run(
      Lookup({"--out", Path("res.csv"), "--max-attempts", "1"}));
  ASSERT_EQ(first.exit_code, 1) << first.err;
  EXPECT_NE(first.err.find("HTTP_ERROR 400"), std::string::npos) << first.err;
  // The summary prints the command that fetches them again.
  EXPECT_NE(first.err.find("--resume --redo HTTP_ERROR"), std::string::npos) << first.err;
  // Second pass: still one attempt, so every key fails again (its second 503).
  RunResult second = ::gather::testing::Run(Lookup(
      {"--out", Path("res.csv"), "--max-attempts", "1", "--resume", "--redo", "HTTP_ERROR"}));
  ASSERT_EQ(second.exit_code, 1) << second.err;
  // Third pass with the default attempts: every key answers 200 now.
  RunResult third = ::gather::testing::Run(
      Lookup({"--out", Path("res.csv"), "--resume", "--redo", "HTTP_ERROR,TIMEOUT"}));
  ASSERT_EQ(third.exit_code, 0) << third.err;
  for (int i = 0; i < kKeys; ++i) {
    EXPECT_EQ(Hits(absl::StrCat("/e/", i)), 3) << i;  // each pass fetched each failed key once
  }
  // Every key has exactly one row, OK, in res.csv, and the errors file has only its header.
  std::ifstream out(Path("res.csv"));
  std::string line;
  std::getline(out, line);
  EXPECT_EQ(line, "seq,key,id");
  std::set<int> seqs;
  int rows = 0;
  while (std::getline(out, line)) {
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    ASSERT_EQ(cells.size(), 3u) << line;
    seqs.insert(std::stoi(cells[0]));
    EXPECT_EQ(cells[1], cells[2]);
    ++rows;
  }
  EXPECT_EQ(rows, kKeys);
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kKeys));
  std::ifstream errors(Path("res.errors.csv"));
  std::string errors_text((std::istreambuf_iterator<char>(errors)), {});
  EXPECT_EQ(errors_text, "seq,key,status,http_status,attempts,error\n");
  // A further --redo has nothing left to do and fetches nothing.
  RunResult again = ::gather::testing::Run(
      Lookup({"--out", Path("res.csv"), "--resume", "--redo", "failed"}));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Hits("/e/0"), 3);
}

TEST_F(SecondPassE2eTest, RedoNeedsResumeAndKnownStatuses) {
  StartServer({});
  RunResult alone = ::gather::testing::Run(
      Lookup({"--out", Path("res.csv"), "--redo", "HTTP_ERROR"}));
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(alone.err.find("--redo needs --resume"), std::string::npos) << alone.err;
  RunResult unknown = ::gather::testing::Run(
      Lookup({"--out", Path("res.csv"), "--resume", "--redo", "HTTP_EROR"}));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("HTTP_EROR"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace gather::testing
