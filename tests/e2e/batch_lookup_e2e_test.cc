// End to end: the entity API fixture, a real gatherd process, and `gather lookup` (or a raw gRPC
// client where the test needs to control the stream itself).
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/entity_fixture.h"
#include "tests/support/process.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The expected JSONL "fields" member of an OK entity row (values as raw JSON text).
std::string ExpectedFieldsJson(uint64_t id) {
  std::vector<std::string> values = EntityFixture::ExpectedValues(id);
  std::string out = "\"fields\":{";
  const auto& fields = EntityFixture::Fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, "\"", fields[i].first, "\":", values[i]);
  }
  return out + "}";
}

const char* ExpectedStatus(uint64_t id) {
  switch (EntityFixture::KindOf(id)) {
    case EntityKind::kOk: return "OK";
    case EntityKind::kNotFound: return "HTTP_ERROR";
    case EntityKind::kNoLocation: return "MISSING";
    case EntityKind::kNotJson: return "BAD_CONTENT";
  }
  return "?";
}

// Parses JSONL output; fails the test on a seq seen twice. Returns lines by seq.
std::map<uint64_t, std::string> LinesBySeq(const std::string& content) {
  std::map<uint64_t, std::string> by_seq;
  for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(json.is_discarded()) << line;
    if (json.is_discarded()) continue;
    uint64_t seq = json["seq"].get<uint64_t>();
    EXPECT_TRUE(by_seq.emplace(seq, std::string(line)).second) << "seq " << seq << " twice";
  }
  return by_seq;
}

class BatchLookupE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gather_lookup_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    gatherd_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartUpstream() {
    fixture_.Install(upstream_);
    upstream_.Start();
  }
  void StartServer(std::vector<std::string> flags = {}, bool capture_stderr = false) {
    flags.push_back("--egress_allow=127.0.0.0/8");
    auto gatherd = StartGatherd(kBin, std::move(flags), capture_stderr);
    ASSERT_TRUE(gatherd.ok()) << gatherd.status();
    gatherd_.emplace(*std::move(gatherd));
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string Template() const { return upstream_.base_url() + "/api/v2/entities/{key}"; }
  // Writes ids [0, n) one per line, plus `extra` lines.
  std::string WriteKeys(int n, const std::vector<std::string>& extra = {}) {
    std::string path = Path("keys.txt");
    std::ofstream out(path);
    for (int i = 0; i < n; ++i) out << i << "\n";
    for (const std::string& line : extra) out << line << "\n";
    return path;
  }
  // `gather lookup` against `server` (default: gatherd_'s address).
  std::vector<std::string> LookupArgs(const std::string& keys, const std::string& out,
                                      std::vector<std::string> more = {},
                                      std::string server = "") {
    if (server.empty()) server = gatherd_.value().address;
    std::vector<std::string> args = {kBin + "/gather", "--server", server, "lookup",
                                     "--template", Template(), "--keys", keys, "--out", out,
                                     "--require", "/location", "--concurrency", "64"};
    for (const auto& [name, pointer] : EntityFixture::Fields()) {
      args.push_back("--field");
      args.push_back(absl::StrCat(name, "=", pointer));
    }
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  // Checks that `content` (JSONL) has exactly one correct row for each of `n` id lines.
  void ExpectEveryIdOnce(const std::string& content, int n) {
    std::map<uint64_t, std::string> by_seq = LinesBySeq(content);
    ASSERT_EQ(by_seq.size(), static_cast<size_t>(n));
    for (const auto& [seq, line] : by_seq) {
      ASSERT_LT(seq, static_cast<uint64_t>(n));
      auto json = nlohmann::json::parse(line);
      ASSERT_EQ(json["key"], absl::StrCat(seq));
      ASSERT_EQ(json["status"], ExpectedStatus(seq)) << line;
      if (json["status"] == "OK") {
        ASSERT_NE(line.find(ExpectedFieldsJson(seq)), std::string::npos) << line;
        ASSERT_EQ(json["http_status"], 200);
      }
    }
  }

  EntityFixture fixture_;
  TestUpstream upstream_;  // destroyed after gatherd_
  std::optional<Gatherd> gatherd_;
  std::string dir_;
};

TEST_F(BatchLookupE2eTest, EveryKeyExactlyOnceWithStatusesAndExactFields) {
  StartUpstream();
  StartServer();
  const int n = Scaled(100'000, 2'000);
  // Duplicate keys are their own lines and get their own rows.
  std::string keys = WriteKeys(n, {"5", "5", "13"});
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(LookupArgs(keys, out));
  EXPECT_EQ(run.exit_code, 1) << run.err;  // 404s and bad bodies are failures
  std::map<uint64_t, std::string> by_seq = LinesBySeq(ReadFile(out));
  ASSERT_EQ(by_seq.size(), static_cast<size_t>(n + 3));
  for (const auto& [seq, line] : by_seq) {
    auto json = nlohmann::json::parse(line);
    uint64_t id = seq < static_cast<uint64_t>(n) ? seq : (seq == static_cast<uint64_t>(n) + 2 ? 13 : 5);
    ASSERT_EQ(json["key"], absl::StrCat(id));
    ASSERT_EQ(json["status"], ExpectedStatus(id)) << line;
    if (json["status"] == "OK") {
      ASSERT_NE(line.find(ExpectedFieldsJson(id)), std::string::npos) << line;
    } else {
      ASSERT_FALSE(json["error"].get<std::string>().empty()) << line;
    }
  }
  EXPECT_NE(run.err.find(absl::StrCat(n + 3, " rows")), std::string::npos) << run.err;
}

TEST_F(BatchLookupE2eTest, CsvFromAKeyColumnWithAnErrorsFile) {
  StartUpstream();
  StartServer();
  const int n = 3000;
  std::string keys = Path("input.csv");
  {
    std::ofstream in(keys);
    in << "name,id\n";
    for (int i = 0; i < n; ++i) in << "\"Name, " << i << "\"," << i << "\n";
  }
  std::string out = Path("entities.csv");
  RunResult run = ::gather::testing::Run(LookupArgs(keys, out, {"--key-column", "id"}));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  std::string csv = ReadFile(out);
  std::string errors = ReadFile(Path("entities.errors.csv"));
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "seq,key,label,geo,street,city,postal,country,lat,lon,big");
  EXPECT_EQ(errors.substr(0, errors.find('\n')), "seq,key,status,http_status,attempts,error");
  std::set<uint64_t> seen;
  int ok_rows = 0;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    if (line.substr(0, 4) == "seq,") continue;
    uint64_t seq = 0;
    ASSERT_TRUE(absl::SimpleAtoi(line.substr(0, line.find(',')), &seq)) << line;
    ASSERT_TRUE(seen.insert(seq).second);
    ASSERT_STREQ(ExpectedStatus(seq), "OK");
    ++ok_rows;
  }
  for (absl::string_view line : absl::StrSplit(errors, '\n', absl::SkipEmpty())) {
    if (line.substr(0, 4) == "seq,") continue;
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    uint64_t seq = 0;
    ASSERT_TRUE(absl::SimpleAtoi(cells[0], &seq)) << line;
    ASSERT_TRUE(seen.insert(seq).second);
    ASSERT_EQ(cells[2], ExpectedStatus(seq)) << line;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));
  EXPECT_GT(ok_rows, n * 9 / 10);
  // One OK row in full: strings decoded, objects as JSON, big integers exact.
  std::vector<std::string> v = EntityFixture::ExpectedValues(1);
  EXPECT_NE(csv.find("\n1,1,Entity 1,\"{\"\"type\"\":\"\"Point\"\",\"\"coordinates\"\":[1,1]}\","
                     "\"1 Main St, Suite 1\",Paris,10001,Somewhere,1.5,-1.25," + v[8] + "\n"),
            std::string::npos)
      << csv.substr(0, 400);
}

TEST_F(BatchLookupE2eTest, BadInputIsRefusedWithExitTwoAndNoOutput) {
  StartUpstream();
  StartServer();
  std::string keys = WriteKeys(10);
  std::string out = Path("never.jsonl");
  auto run_with = [&](std::vector<std::string> args) {
    RunResult run = ::gather::testing::Run(args);
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << run.err;
    return run.err;
  };
  std::vector<std::string> base = {kBin + "/gather", "--server", gatherd_->address, "lookup",
                                   "--keys", keys, "--out", out};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  EXPECT_NE(run_with(with({"--template", upstream_.base_url() + "/api/v2/entities"})).find("{key}"),
            std::string::npos);
  EXPECT_NE(run_with(with({"--template", "http://{key}.example/x"})).find("--template"),
            std::string::npos);
  EXPECT_NE(run_with(with({"--template", Template(), "--field", "city=location/city"}))
                .find("--field city"),
            std::string::npos);
  std::string csv_keys = Path("keys.csv");
  std::ofstream(csv_keys) << "name,entity\nx,1\n";
  std::vector<std::string> no_column = with({"--template", Template(), "--key-column", "id"});
  no_column[5] = csv_keys;
  EXPECT_NE(run_with(no_column).find("no column \"id\""), std::string::npos);
  // Refused by the server (over its --max_rpc_concurrency): INVALID_ARGUMENT, still no output.
  EXPECT_NE(run_with(with({"--template", Template(), "--concurrency", "5000"}))
                .find("spec.policy.concurrency"),
            std::string::npos);
}

TEST_F(BatchLookupE2eTest, EmptyAndHugeKeysFailOnlyTheirOwnLines) {
  StartUpstream();
  StartServer();
  std::string keys = Path("keys.txt");
  std::ofstream(keys) << "1\n\n" << std::string(100 * 1024, '7') << "\n2\n";
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(LookupArgs(keys, out));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  std::map<uint64_t, std::string> by_seq = LinesBySeq(ReadFile(out));
  ASSERT_EQ(by_seq.size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(by_seq[0])["status"], "OK");
  EXPECT_EQ(nlohmann::json::parse(by_seq[1])["status"], "INVALID_KEY");
  EXPECT_EQ(nlohmann::json::parse(by_seq[1])["error"], "empty key");
  EXPECT_EQ(nlohmann::json::parse(by_seq[2])["status"], "INVALID_KEY");
  EXPECT_EQ(nlohmann::json::parse(by_seq[3])["status"], "OK");
}

TEST_F(BatchLookupE2eTest, KillNineOfTheCliThenResumeGivesExactlyOnce) {
  const int n = Scaled(20'000, 2'000);
  std::atomic<pid_t> cli{-1};
  fixture_.set_hook([&](int request) {
    if (request == n / 3 && cli.load() > 0) kill(cli.load(), SIGKILL);
  });
  StartUpstream();
  StartServer();
  std::string keys = WriteKeys(n);
  std::string out = Path("out.jsonl");
  {
    auto child = ChildProcess::Start(LookupArgs(keys, out, {"--quiet"}));
    ASSERT_TRUE(child.ok()) << child.status();
    cli = child->pid();
    // The hook kills it a third of the way: its stdout then reaches EOF. Terminate only reaps
    // it (a second SIGKILL is harmless).
    EXPECT_EQ(child->ReadLine(), "");
    EXPECT_EQ(child->Terminate(SIGKILL), 128 + SIGKILL);
  }
  std::string partial = ReadFile(out);
  size_t first_run_rows = LinesBySeq(partial.substr(0, partial.rfind('\n') + 1)).size();
  EXPECT_LT(first_run_rows, static_cast<size_t>(n));
  // Whatever the kill left, also simulate a write cut in the middle of a line.
  std::ofstream(out, std::ios::app) << "{\"seq\":12345,\"key\":\"123";

  RunResult resumed = ::gather::testing::Run(LookupArgs(keys, out, {"--resume"}));
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
  EXPECT_NE(resumed.err.find("torn"), std::string::npos) << resumed.err;
  ExpectEveryIdOnce(ReadFile(out), n);
}

TEST_F(BatchLookupE2eTest, KillNineOfTheServerThenResumeOnANewOneGivesExactlyOnce) {
  const int n = Scaled(20'000, 2'000);
  std::atomic<pid_t> server{-1};
  fixture_.set_hook([&](int request) {
    if (request == n / 2 && server.load() > 0) kill(server.load(), SIGKILL);
  });
  StartUpstream();
  StartServer();
  server = gatherd_->process.pid();
  std::string keys = WriteKeys(n);
  std::string out = Path("out.jsonl");
  // --retries 0: this is about a resume by hand (ShardE2eTest covers reconnecting by itself).
  RunResult broken = ::gather::testing::Run(LookupArgs(keys, out, {"--retries", "0"}));
  EXPECT_EQ(broken.exit_code, 3) << broken.err;
  EXPECT_NE(broken.err.find("--resume"), std::string::npos) << broken.err;

  server = -1;
  StartServer();
  RunResult resumed = ::gather::testing::Run(LookupArgs(keys, out, {"--resume"}));
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
  ExpectEveryIdOnce(ReadFile(out), n);
}

// SIGTERM in the middle of a long lookup: the call keeps running for most of the grace, then gatherd
// cancels the keys it holds (their CANCELLED rows are sent, the CLI does not keep them), stops
// reading, ends the call UNAVAILABLE and exits 0 in time. --resume on another server then
// completes the batch: every key exactly once.
TEST_F(BatchLookupE2eTest, SigtermDrainsWithinTheGraceThenResumeElsewhereGivesExactlyOnce) {
  const int n = Scaled(200'000, 5'000);
  // 1 s: the calls get 0.75 s, the CANCELLED rows 0.25 s (a sanitizer's slowdown needs more).
  const absl::Duration grace = Slack(absl::Seconds(1));
  std::atomic<pid_t> server{-1};
  std::atomic<int64_t> sigterm_at_ns{0};
  // Requests after the first n/5 stall until gatherd is gone, so the call cannot finish within
  // the grace however fast this machine (or slow a sanitizer) is: gatherd must cut it. Bounded,
  // so a broken gatherd fails the test instead of hanging it. Shared with the upstream's threads,
  // which may still wait on it after this test body returns; released at the latest on return.
  struct Stall {
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
    void Release() {
      std::lock_guard<std::mutex> lock(mu);
      released = true;
      cv.notify_all();
    }
  };
  auto stall = std::make_shared<Stall>();
  std::unique_ptr<Stall, void (*)(Stall*)> release_on_return(stall.get(),
                                                             [](Stall* s) { s->Release(); });
  fixture_.set_hook([&server, &sigterm_at_ns, stall, n](int request) {
    if (request == n / 10 && server.load() > 0) {
      sigterm_at_ns = absl::GetCurrentTimeNanos();
      kill(server.load(), SIGTERM);
    }
    if (request > n / 5) {
      std::unique_lock<std::mutex> lock(stall->mu);
      stall->cv.wait_for(lock, std::chrono::seconds(60), [&] { return stall->released; });
    }
  });
  StartUpstream();
  StartServer({absl::StrCat("--shutdown_grace=", absl::ToDoubleSeconds(grace))},
              /*capture_stderr=*/true);
  server = gatherd_->process.pid();
  std::string keys = WriteKeys(n);
  std::string out = Path("out.jsonl");

  RunResult broken =
      ::gather::testing::Run(LookupArgs(keys, out, {"--quiet", "--retries", "0"}));
  EXPECT_EQ(gatherd_->process.Wait(), 0);
  stall->Release();
  ASSERT_GT(sigterm_at_ns.load(), 0) << "the hook never sent SIGTERM";
  // How long gatherd took, from its own log: "draining" (the signal) to "stopped".
  absl::Time draining = absl::InfinitePast(), stopped = absl::InfinitePast();
  for (absl::string_view line :
       absl::StrSplit(gatherd_->process.stderr_text(), '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded()) continue;
    absl::Time* at = json.value("msg", "") == "draining"  ? &draining
                     : json.value("msg", "") == "stopped" ? &stopped
                                                          : nullptr;
    std::string error;
    if (at != nullptr) {
      ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, json.value("ts", ""), at, &error)) << error;
    }
  }
  ASSERT_NE(draining, absl::InfinitePast());
  ASSERT_NE(stopped, absl::InfinitePast());
  std::cerr << "gatherd stopped " << (stopped - draining) << " after SIGTERM\n";
  EXPECT_LE(stopped - draining, grace + Slack(absl::Milliseconds(200)))
      << "gatherd must be gone within its grace";
  EXPECT_EQ(broken.exit_code, 3) << broken.err;
  EXPECT_NE(broken.err.find("shutting down"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("--resume"), std::string::npos) << broken.err;
  std::string partial = ReadFile(out);
  size_t first_rows = LinesBySeq(partial).size();
  EXPECT_GT(first_rows, static_cast<size_t>(n / 10));
  EXPECT_LT(first_rows, static_cast<size_t>(n));

  // gatherd's summary of the call: it was cut (UNAVAILABLE) and sent CANCELLED rows.
  std::string log = gatherd_->process.stderr_text();
  EXPECT_NE(log.find("grace over"), std::string::npos) << log;
  bool summarized = false;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || json.value("msg", "") != "rpc") continue;
    summarized = true;
    EXPECT_EQ(json["code"], "UNAVAILABLE") << line;
    EXPECT_GT(json["statuses"].value("CANCELLED", 0), 0) << line;
  }
  EXPECT_TRUE(summarized) << log;

  server = -1;
  StartServer();
  RunResult resumed = ::gather::testing::Run(LookupArgs(keys, out, {"--resume"}));
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
  EXPECT_NE(resumed.err.find(absl::StrCat(first_rows, " done earlier")), std::string::npos)
      << resumed.err;
  ExpectEveryIdOnce(ReadFile(out), n);
}

TEST_F(BatchLookupE2eTest, DuplicateKeysShareFetchesAndEveryLineGetsItsRow) {
  StartUpstream();
  StartServer();
  const int n = 10'000;
  std::string keys = Path("keys.txt");
  {
    std::ofstream out(keys);
    for (int i = 0; i < n; ++i) out << (i % 100) << "\n";  // 100 distinct keys
  }
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(LookupArgs(keys, out));
  EXPECT_EQ(run.exit_code, 1) << run.err;  // the fixture fails some ids on purpose
  std::map<uint64_t, std::string> by_seq = LinesBySeq(ReadFile(out));
  ASSERT_EQ(by_seq.size(), static_cast<size_t>(n));
  int shared = 0;
  for (const auto& [seq, line] : by_seq) {
    auto json = nlohmann::json::parse(line);
    uint64_t id = seq % 100;
    ASSERT_EQ(json["key"], absl::StrCat(id));
    ASSERT_EQ(json["status"], ExpectedStatus(id)) << line;
    if (json["status"] == "OK") {
      ASSERT_NE(line.find(ExpectedFieldsJson(id)), std::string::npos);
    }
    shared += json.contains("shared") ? 1 : 0;
  }
  EXPECT_LE(upstream_.requests(), 300) << "identical requests must share fetches";
  EXPECT_GE(shared, n - 300);
  std::cerr << "10,000 lines, 100 distinct keys: " << upstream_.requests()
            << " upstream requests\n";
}

TEST_F(BatchLookupE2eTest, AStalledReaderStopsTheServerReadingKeys) {
  if (kUnderThreadSanitizer) {
    GTEST_SKIP() << "the 12,000+ keys this needs take over 120 s through ThreadSanitizer, and "
                    "every thread it exercises is gRPC's, which the TSan run cannot check; it "
                    "runs under ASan and in the normal build";
  }
  StartUpstream();
  StartServer();
  // With the client's receive window fixed at gRPC's initial 64 KiB (no BDP probing, which
  // would grow it to megabytes of rows), what the server fetches for a reader that reads nothing
  // is its own window (2,048 keys at concurrency 64) plus a few batches: a few thousand keys, far
  // under n / 2 even when GATHER_TEST_SCALE shrinks n.
  const int n = Scaled(200'000, 12'000);
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto channel = grpc::CreateCustomChannel(gatherd_->address, grpc::InsecureChannelCredentials(),
                                           channel_args);
  auto stub = v1::Gather::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->BatchLookup(&context);
  std::atomic<int> keys_written{0};
  std::thread sender([&] {
    v1::BatchLookupRequest message;
    message.mutable_spec()->set_url_template(Template());
    v1::Field* field = message.mutable_spec()->add_fields();
    field->set_name("label");
    field->set_pointer("/label");
    message.mutable_spec()->mutable_policy()->set_concurrency(64);
    if (!stream->Write(message)) return;
    for (int base = 0; base < n; base += 1000) {
      message.Clear();
      for (int i = base; i < std::min(n, base + 1000); ++i) {
        v1::Key* key = message.mutable_keys()->add_keys();
        key->set_seq(static_cast<uint64_t>(i));
        // 100-byte keys (zero-padded ids) so the keys outgrow every gRPC buffer and window.
        std::string id = absl::StrCat(i);
        key->set_key(std::string(100 - id.size(), '0') + id);
      }
      if (!stream->Write(message)) return;
      keys_written = std::min(n, base + 1000);
    }
    stream->WritesDone();
  });

  // Read nothing until the server has stopped fetching: the upstream's count, once it started,
  // stops moving for a second. (Before the first fetch a loaded machine may take over a second
  // to connect and send the spec: that is no stall.)
  int last = -1;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  for (int stable = 0; stable < 10 && absl::Now() < give_up;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int now = upstream_.requests();
    stable = now == last && now > 0 ? stable + 1 : 0;
    last = now;
  }
  long rss_stalled = RssKib(gatherd_->process.pid());
  const int written_when_stalled = keys_written.load();
  EXPECT_LT(last, n / 2) << "the server kept fetching for a reader that reads nothing";
  EXPECT_GT(last, 0);
  EXPECT_LT(written_when_stalled, n) << "flow control never pushed back on the sender";
  if (kUnderSanitizer) {
    // ASan's shadow memory and quarantine, or TSan's shadow, multiply RSS: no bound holds.
    std::cerr << "RSS bound not checked under " << kSanitizer << "\n";
  } else {
    EXPECT_LT(rss_stalled, 150 * 1024) << "server RSS while stalled, KiB";
  }

  // Now drain: every key comes back exactly once.
  std::vector<bool> seen(static_cast<size_t>(n), false);
  int rows = 0;
  bool summary = false;
  v1::BatchLookupResponse response;
  while (stream->Read(&response)) {
    if (response.has_summary()) {
      summary = true;
      EXPECT_EQ(response.summary().keys(), static_cast<uint64_t>(n));
      continue;
    }
    for (const v1::LookupResult& row : response.results().results()) {
      ASSERT_LT(row.seq(), static_cast<uint64_t>(n));
      ASSERT_FALSE(seen[row.seq()]) << row.seq();
      seen[row.seq()] = true;
      ++rows;
    }
  }
  sender.join();
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(summary);
  EXPECT_EQ(rows, n);
  std::cerr << "stalled after " << last << " upstream requests of " << n << " with "
            << written_when_stalled << " keys sent, server RSS " << rss_stalled / 1024 << " MiB\n";
}


// ---- several replicas: `gather lookup --server A,B,C --shards K` ----

class ShardE2eTest : public BatchLookupE2eTest {
 protected:
  void TearDown() override {
    replicas_.clear();
    BatchLookupE2eTest::TearDown();
  }
  void StartReplicas(int count) {
    for (int i = 0; i < count; ++i) {
      auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8"}, /*capture_stderr=*/true);
      ASSERT_TRUE(gatherd.ok()) << gatherd.status();
      replicas_.push_back(*std::move(gatherd));
    }
  }
  std::string ServerList() const {
    std::string list;
    for (const Gatherd& replica : replicas_) {
      absl::StrAppend(&list, list.empty() ? "" : ",", replica.address);
    }
    return list;
  }
  std::vector<std::string> ShardArgs(const std::string& keys, const std::string& out,
                                     std::vector<std::string> more) {
    // Each of the K streams has its own concurrency: 16 each keeps the test upstream (and a
    // sanitizer's slowdown of it) well inside the per-key timeout.
    more.insert(more.end(), {"--timeout", "60"});
    std::vector<std::string> args = LookupArgs(keys, out, std::move(more), ServerList());
    auto concurrency = std::find(args.begin(), args.end(), "--concurrency");
    if (concurrency != args.end()) *std::next(concurrency) = "16";
    return args;
  }
  // Keys a replica was sent, from its "rpc" log lines (one per call).
  static uint64_t KeysServed(const Gatherd& replica) {
    uint64_t keys = 0;
    for (absl::string_view line :
         absl::StrSplit(replica.process.stderr_text(), '\n', absl::SkipEmpty())) {
      auto json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_discarded() || json.value("msg", "") != "rpc") continue;
      keys += json.value("keys", uint64_t{0});
    }
    return keys;
  }
  std::vector<Gatherd> replicas_;
};

TEST_F(ShardE2eTest, ThreeReplicasEachServeAFairShareAndEveryKeyComesOnce) {
  const int n = Scaled(90'000, 3'000);
  StartUpstream();
  StartReplicas(3);
  std::string keys = WriteKeys(n);
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(ShardArgs(keys, out, {"--shards", "3"}));
  EXPECT_EQ(run.exit_code, 1) << run.err;  // the fixture's 404s and bad bodies
  EXPECT_NE(run.err.find("3 shards; rows by server:"), std::string::npos) << run.err;
  ExpectEveryIdOnce(ReadFile(out), n);
  for (Gatherd& replica : replicas_) EXPECT_EQ(replica.process.Terminate(SIGTERM), 0);
  uint64_t total = 0;
  for (const Gatherd& replica : replicas_) {
    uint64_t keys_served = KeysServed(replica);
    total += keys_served;
    EXPECT_NEAR(static_cast<double>(keys_served), n / 3.0, n / 3.0 * 0.2)
        << replica.address << " served " << keys_served << " of " << n << " keys";
  }
  EXPECT_EQ(total, static_cast<uint64_t>(n)) << "no key was sent twice";
}

TEST_F(ShardE2eTest, AReplicaKilledMidRunLeavesItsKeysToTheOthers) {
  const int n = Scaled(60'000, 3'000);
  std::atomic<pid_t> victim{-1};
  fixture_.set_hook([&](int request) {
    if (request == n / 3 && victim.load() > 0) kill(victim.load(), SIGKILL);
  });
  StartUpstream();
  StartReplicas(3);
  victim = replicas_[1].process.pid();
  std::string keys = WriteKeys(n);
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(ShardArgs(keys, out, {"--shards", "3"}));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("reconnecting to"), std::string::npos) << run.err;
  ExpectEveryIdOnce(ReadFile(out), n);  // 0 lost, 0 duplicated
}

TEST_F(ShardE2eTest, AServerRestartedTwiceDuringARunIsRejoinedWithoutHelp) {
  const int n = Scaled(40'000, 3'000);
  std::atomic<pid_t> victim{-1};
  std::atomic<int> kills{0};
  fixture_.set_hook([&](int request) {
    if ((request == n / 4 || request == n / 2) && victim.load() > 0) {
      kill(victim.exchange(-1), SIGKILL);
      ++kills;
    }
  });
  StartUpstream();
  StartReplicas(1);
  const std::string address = replicas_[0].address;
  const std::string port = address.substr(address.rfind(':') + 1);
  victim = replicas_[0].process.pid();
  std::string keys = WriteKeys(n);
  std::string out = Path("out.jsonl");
  auto cli = ChildProcess::Start(ShardArgs(keys, out, {"--quiet"}), /*capture_stderr=*/true);
  ASSERT_TRUE(cli.ok()) << cli.status();
  for (int restart = 0; restart < 2; ++restart) {
    // Wait for the hook's kill, then start a new gatherd on the same port.
    replicas_[0].process.Wait();
    auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--listen=127.0.0.1:" + port},
                                /*capture_stderr=*/true);
    ASSERT_TRUE(gatherd.ok()) << gatherd.status();
    replicas_.pop_back();  // the dead one (already reaped)
    replicas_.push_back(*std::move(gatherd));
    victim = replicas_[0].process.pid();
  }
  EXPECT_EQ(cli->Wait(), 1) << cli->stderr_text();
  EXPECT_EQ(kills.load(), 2);
  EXPECT_NE(cli->stderr_text().find("reconnecting to " + address), std::string::npos)
      << cli->stderr_text();
  ExpectEveryIdOnce(ReadFile(out), n);
}

}  // namespace
}  // namespace gather::testing
