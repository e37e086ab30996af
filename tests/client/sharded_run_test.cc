#include "client/lookup/sharded_run.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/io/output_file.h"
#include "client/lookup/row_sink.h"
#include "client/output/progress.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/fake_lookup_transport.h"
#include "tests/client/temp_dir.h"

namespace gather::client {
namespace {

using testing::FakeLookupTransport;
using testing::FakeStreamLog;
using testing::FakeStreamPlan;
using testing::TempDir;

// One run over the fake transport, into a JSONL file.
class ShardedRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    spec_.set_url_template("http://api.example/items/{key}");
  }

  // Writes keys "key-0".."key-(n-1)" (or `lines`) to the --keys file.
  void WriteKeys(int n) {
    std::string text;
    for (int i = 0; i < n; ++i) absl::StrAppend(&text, "key-", i, "\n");
    WriteKeyLines(text);
  }
  void WriteKeyLines(const std::string& text) {
    dir_.Write("keys.txt", text);
    options_.keys = dir_.Path("keys.txt");
  }

  // Runs `shards` shards over `servers` ("a:1,b:2"); stderr of the run in stderr_.
  void Run(const std::string& servers, uint32_t shards) {
    auto targets = ParseServerList(servers);
    ASSERT_TRUE(targets.ok()) << targets.status();
    auto resolved = ResolveServers(*targets);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    auto keys = KeySource::Open(options_.keys, std::nullopt);
    ASSERT_TRUE(keys.ok()) << keys.status();
    run_ = std::make_unique<ShardedRun>(options_, spec_, *std::move(targets),
                                        *std::move(resolved), done_, *std::move(keys),
                                        KeysInput{options_.keys, KeysFormat::kLines, std::nullopt}, transport_);
    ASSERT_TRUE(run_->Connect().ok());
    out_ = std::make_unique<OutputFile>(dir_.Path("out.jsonl"), false);
    sink_ = std::make_unique<RowSink>(OutputFormat::kJsonl, /*quiet=*/false, field_names_, *out_,
                                      nullptr, progress_);
    ::testing::internal::CaptureStderr();
    run_->Run(shards, *sink_);
    stderr_ = ::testing::internal::GetCapturedStderr();
    sink_->Flush(absl::Now(), /*force=*/true);
  }

  // The output's rows: key and status by seq; a seq written twice fails the test.
  std::map<uint64_t, std::pair<std::string, std::string>> OutputRows() {
    std::map<uint64_t, std::pair<std::string, std::string>> rows;
    for (absl::string_view line : absl::StrSplit(dir_.Read("out.jsonl"), '\n', absl::SkipEmpty())) {
      auto json = nlohmann::json::parse(line);
      uint64_t seq = json["seq"].get<uint64_t>();
      EXPECT_TRUE(rows.emplace(seq, std::make_pair(json["key"].get<std::string>(),
                                                   json["status"].get<std::string>()))
                      .second)
          << "seq " << seq << " written twice";
    }
    return rows;
  }
  // Every seq 0..n-1 exactly once, with its own key and OK.
  void ExpectEveryKeyOnce(int n) {
    auto rows = OutputRows();
    ASSERT_EQ(rows.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(rows.count(i)) << "no row for seq " << i;
      EXPECT_EQ(rows[i].first, absl::StrCat("key-", i));
      EXPECT_EQ(rows[i].second, "OK");
    }
  }

  TempDir dir_;
  LookupOptions options_;
  v1::LookupSpec spec_;
  SeqBitmap done_;
  FakeLookupTransport transport_;
  const std::vector<std::string> field_names_;
  Progress progress_{false, false, std::nullopt, 0, absl::Now()};
  std::unique_ptr<ShardedRun> run_;
  std::unique_ptr<OutputFile> out_;
  std::unique_ptr<RowSink> sink_;
  std::string stderr_;
};

TEST_F(ShardedRunTest, EveryKeyGetsExactlyOneRowAcrossShards) {
  WriteKeys(300);
  options_.keys_per_message = 7;
  spec_.mutable_policy()->set_rate(30);
  spec_.mutable_policy()->set_burst(6);
  Run("a:1,b:2,c:3", 3);

  EXPECT_TRUE(run_->complete());
  EXPECT_TRUE(run_->input_complete());
  EXPECT_EQ(run_->expected(), 300u);
  EXPECT_EQ(run_->reconnects(), 0u);
  EXPECT_FALSE(run_->fatal().has_value());
  EXPECT_EQ(stderr_, "");
  ExpectEveryKeyOnce(300);
  EXPECT_EQ(sink_->duplicates(), 0u);

  // Shard i on server i, with its share of the keys and of the rate.
  std::vector<std::shared_ptr<FakeStreamLog>> logs = transport_.logs();
  ASSERT_EQ(logs.size(), 3u);
  const std::vector<std::string> servers{"a:1", "b:2", "c:3"};
  std::set<uint64_t> sent;
  for (const auto& log : logs) {
    ASSERT_TRUE(log->spec.has_value());
    EXPECT_DOUBLE_EQ(log->spec->policy().rate(), 10);
    EXPECT_EQ(log->spec->policy().burst(), 2u);
    EXPECT_TRUE(log->writes_done);
    EXPECT_EQ(log->deadline, absl::InfiniteFuture());
    for (const auto& message : log->key_messages) {
      EXPECT_LE(message.size(), 7u);
      for (const v1::Key& key : message) {
        EXPECT_EQ(servers[ShardOf(key.key(), 3)], log->server) << key.key();
        EXPECT_TRUE(sent.insert(key.seq()).second) << "seq " << key.seq() << " sent twice";
      }
    }
  }
  EXPECT_EQ(sent.size(), 300u);
  EXPECT_EQ(sink_->rows_by_server().size(), 3u);
}

TEST_F(ShardedRunTest, RowsTheServerSendsTwiceAreWrittenOnce) {
  WriteKeys(50);
  transport_.set_default_plan({.rows_twice = true});
  Run("a:1", 1);
  EXPECT_TRUE(run_->complete());
  ExpectEveryKeyOnce(50);
  EXPECT_EQ(sink_->duplicates(), 50u);
}

TEST_F(ShardedRunTest, ABrokenStreamReconnectsToTheNextServerForTheKeysWithoutARow) {
  WriteKeys(30);
  options_.keys_per_message = 5;
  transport_.AddPlan("a:1", {.break_after_rows = 10});
  Run("a:1,b:2", 1);

  EXPECT_TRUE(run_->complete());
  EXPECT_EQ(run_->reconnects(), 1u);
  EXPECT_EQ(run_->expected(), 30u);
  ExpectEveryKeyOnce(30);
  std::vector<std::shared_ptr<FakeStreamLog>> logs = transport_.logs();
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[0]->server, "a:1");
  EXPECT_EQ(logs[1]->server, "b:2");
  // The second stream gets only the keys the first left without a row.
  std::vector<uint64_t> resent = logs[1]->seqs();
  ASSERT_EQ(resent.size(), 20u);
  for (size_t i = 0; i < resent.size(); ++i) EXPECT_EQ(resent[i], 10 + i);
  EXPECT_EQ(stderr_.rfind("gather lookup: shard 0: the stream to a:1 ended (UNAVAILABLE: "
                          "connection reset by peer); reconnecting to b:2 in 0.",
                          0),
            0u)
      << stderr_;
  EXPECT_EQ(sink_->rows_by_server(), (std::map<std::string, uint64_t>{{"a:1", 10}, {"b:2", 20}}));
}

TEST_F(ShardedRunTest, AStreamEndedEarlyWithoutAnErrorIsReconnectedToo) {
  WriteKeys(20);
  options_.keys_per_message = 5;
  transport_.AddPlan("a:1", {.break_after_rows = 5, .break_status = absl::OkStatus()});
  Run("a:1", 1);
  EXPECT_TRUE(run_->complete());
  EXPECT_EQ(run_->reconnects(), 1u);
  ExpectEveryKeyOnce(20);
  EXPECT_NE(stderr_.find("(UNAVAILABLE: the server ended the stream before every key had its "
                         "row); reconnecting to a:1"),
            std::string::npos)
      << stderr_;
}

TEST_F(ShardedRunTest, BeforeAnyAnswerAFailureTriesEachOtherServerOnceThenGivesUp) {
  WriteKeys(10);
  transport_.set_default_plan({.refuse = absl::UnavailableError("connection refused")});
  Run("a:1,b:2", 1);
  EXPECT_FALSE(run_->complete());
  EXPECT_EQ(run_->reconnects(), 1u);
  ASSERT_TRUE(run_->fatal().has_value());
  EXPECT_EQ(*run_->fatal(), absl::UnavailableError("connection refused"));
  EXPECT_EQ(sink_->rows(), 0u);
  EXPECT_EQ(transport_.logs().size(), 2u);
}

TEST_F(ShardedRunTest, AVerdictOnTheRequestIsNotRetried) {
  WriteKeys(10);
  transport_.set_default_plan({.refuse = absl::InvalidArgumentError("bad template")});
  Run("a:1,b:2", 1);
  EXPECT_EQ(run_->reconnects(), 0u);
  ASSERT_TRUE(run_->fatal().has_value());
  EXPECT_EQ(*run_->fatal(), absl::InvalidArgumentError("bad template"));
  EXPECT_EQ(transport_.logs().size(), 1u);
  EXPECT_EQ(stderr_, "");
}

TEST_F(ShardedRunTest, GivesUpAfterRetriesReconnectsInARowWithoutANewRow) {
  WriteKeys(20);
  options_.keys_per_message = 5;
  options_.retries = 1;
  transport_.AddPlan("a:1", {.break_after_rows = 5});
  transport_.set_default_plan({.break_after_rows = 0});
  Run("a:1", 1);
  EXPECT_FALSE(run_->complete());
  ASSERT_TRUE(run_->fatal().has_value());
  EXPECT_EQ(run_->fatal()->code(), absl::StatusCode::kUnavailable);
  // The first failure came after new rows (no backoff count); the second had none: 1 retry.
  EXPECT_EQ(run_->reconnects(), 1u);
  EXPECT_EQ(transport_.logs().size(), 2u);
  EXPECT_EQ(sink_->rows(), 5u);
  EXPECT_FALSE(run_->input_complete());
}

TEST_F(ShardedRunTest, AConnectionThatCannotBeSetUpLaterEndsTheRun) {
  WriteKeys(20);
  options_.keys_per_message = 5;
  transport_.AddPlan("a:1", {.break_after_rows = 5});
  transport_.AddPlan("b:2", {.open_error = absl::InvalidArgumentError("--ca_file: cannot read x")});
  Run("a:1,b:2", 1);
  ASSERT_TRUE(run_->fatal().has_value());
  EXPECT_EQ(*run_->fatal(), absl::InvalidArgumentError("cannot connect"));
  EXPECT_NE(stderr_.find("\ngather: --ca_file: cannot read x\n"), std::string::npos) << stderr_;
}

TEST_F(ShardedRunTest, ConnectReportsTheTransportsError) {
  WriteKeys(1);
  transport_.set_connect_error(absl::InvalidArgumentError("--cert and --key go together (mTLS)"));
  auto targets = ParseServerList("a:1,b:2");
  ASSERT_TRUE(targets.ok());
  auto servers = ResolveServers(*targets);
  ASSERT_TRUE(servers.ok());
  auto keys = KeySource::Open(options_.keys, std::nullopt);
  ASSERT_TRUE(keys.ok());
  ShardedRun run(options_, spec_, *targets, *servers, done_, *std::move(keys),
                 KeysInput{options_.keys, KeysFormat::kLines, std::nullopt}, transport_);
  EXPECT_EQ(run.Connect(), absl::InvalidArgumentError("--cert and --key go together (mTLS)"));
  EXPECT_EQ(transport_.connected(), (std::vector<std::string>{"a:1", "b:2"}));
}

// With room for one unread answer, the sender waits for the reader after every message: the run
// finishes only because sending and reading go on at once.
TEST_F(ShardedRunTest, FlowControlHoldsTheSenderUntilTheReaderCatchesUp) {
  WriteKeys(400);
  options_.keys_per_message = 1;
  transport_.set_default_plan({.window = 1});
  Run("a:1,b:2", 2);
  EXPECT_TRUE(run_->complete());
  ExpectEveryKeyOnce(400);
  for (const auto& log : transport_.logs()) EXPECT_LE(log->max_unread, 1u);
}

TEST_F(ShardedRunTest, KeysThatCannotBeSentGetTheirRowFromTheCli) {
  WriteKeyLines(absl::StrCat("key-0\nbad\xff\n", std::string((1 << 20) + 1, 'k'), "\nkey-3\n"));
  Run("a:1", 1);
  EXPECT_TRUE(run_->complete());
  EXPECT_EQ(run_->expected(), 4u);
  auto rows = OutputRows();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].second, "INVALID_KEY");
  EXPECT_EQ(rows[2].second, "INVALID_KEY");
  EXPECT_EQ(rows[2].first, std::string(64, 'k'));
  EXPECT_EQ(rows[3].second, "OK");
  EXPECT_EQ(transport_.logs().at(0)->seqs(), (std::vector<uint64_t>{0, 3}));
}

TEST_F(ShardedRunTest, KeysDoneByEarlierRunsAreSkippedAndDeadlineCountsFromTheStart) {
  WriteKeys(10);
  done_.Set(0);
  done_.Set(7);
  options_.deadline_seconds = 30;
  transport_.AddPlan("a:1", {.rate = 4});
  transport_.AddPlan("b:2", {.rate = 6});
  const absl::Time before = absl::Now();
  Run("a:1,b:2", 2);
  const absl::Time after = absl::Now();
  EXPECT_TRUE(run_->complete());
  EXPECT_EQ(run_->skipped(), 2u);
  EXPECT_EQ(run_->expected(), 8u);
  EXPECT_EQ(sink_->rows(), 8u);
  EXPECT_DOUBLE_EQ(run_->rate(), 10);
  for (const auto& log : transport_.logs()) {
    for (uint64_t seq : log->seqs()) EXPECT_TRUE(seq != 0 && seq != 7) << seq;
    EXPECT_GE(log->deadline, before + absl::Seconds(30));
    EXPECT_LE(log->deadline, after + absl::Seconds(30));
  }
}

}  // namespace
}  // namespace gather::client
