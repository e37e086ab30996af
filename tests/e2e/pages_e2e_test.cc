// End to end: `gather lookup` following each key's pages through a real gatherd, against local
// APIs that page the way real ones do (a cursor in the body sent back as a query parameter, a
// Link header), with the CLI killed by SIGKILL mid-run and resumed: every item exactly once, on
// its own key. Also the ways a key's pages go wrong.
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;
constexpr int kItemsPerPage = 3;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Key K (a number) has 1 + K % 4 pages of 3 items; item i of page p is "K.p.i".
int PagesOf(int key) { return 1 + key % 4; }
int TotalItems(int keys) {
  int total = 0;
  for (int k = 0; k < keys; ++k) total += PagesOf(k) * kItemsPerPage;
  return total;
}
nlohmann::json Items(const std::string& key, int page) {
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < kItemsPerPage; ++i) {
    items.push_back({{"id", absl::StrCat(key, ".", page, ".", i)}, {"n", i}});
  }
  return items;
}
// An opaque cursor with characters that must be percent-encoded in a query.
std::string Cursor(const std::string& key, int page) {
  return absl::StrCat("c/", key, "+", page, "==");
}

class PagesE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gather_pages_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    gatherd_.reset();
    upstream_.Stop();
    other_.Stop();
    std::filesystem::remove_all(dir_);
  }
  void StartServer(const std::string& egress = "127.0.0.0/8") {
    gatherd_.reset();
    auto gatherd = StartGatherd(kBin, {"--egress_allow=" + egress}, false);
    ASSERT_TRUE(gatherd.ok()) << gatherd.status();
    gatherd_.emplace(*std::move(gatherd));
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string WriteKeys(int n, const std::vector<std::string>& extra = {}) {
    std::string path = Path("keys.txt");
    std::ofstream out(path);
    for (int i = 0; i < n; ++i) out << i << "\n";
    for (const std::string& line : extra) out << line << "\n";
    return path;
  }
  // The kill: once the API has answered `at` requests, SIGKILL the CLI.
  void KillAt(const httplib::Request&) {
    if (++answered_ == kill_at_.load() && cli_.load() > 0) kill(cli_.load(), SIGKILL);
  }

  // GET /search?id=K[&pagetoken=T]: {"results":[...3 items],"next_page_token":T'} (none on the
  // last page). A wrong cursor is a 400. Keys named for the failure they show: "loop" (the same
  // cursor again), "notarray", "fail2" (page 2 is a 500), "long" (9 pages), "empty".
  void InstallCursorApi() {
    upstream_.Get("/search", [this](const httplib::Request& request, httplib::Response& response) {
      KillAt(request);
      const std::string key = request.get_param_value("id");
      int page = 0;
      if (request.has_param("pagetoken")) {
        const std::string token = request.get_param_value("pagetoken");
        page = -1;
        for (int p = 1; p < 10; ++p) {
          if (token == Cursor(key, p)) page = p;
        }
        if (key == "loop" && token == Cursor(key, 1)) page = 1;
        if (page < 0) {
          response.status = 400;
          response.set_content(R"({"error":"bad pagetoken"})", "application/json");
          return;
        }
      }
      nlohmann::json body;
      int pages = 0;
      int number = 0;
      if (absl::SimpleAtoi(key, &number)) {
        pages = PagesOf(number);
      } else if (key == "long") {
        pages = 9;
      } else if (key == "fail2" && page == 1) {
        response.status = 500;
        return;
      } else {
        pages = key == "loop" ? 100 : 2;
      }
      body["results"] = key == "notarray" ? nlohmann::json::object({{"id", 1}})
                        : key == "empty"  ? nlohmann::json::array()
                                          : Items(key, page);
      if (page + 1 < pages) body["next_page_token"] = Cursor(key, key == "loop" ? 1 : page + 1);
      response.set_content(body.dump(), "application/json");
    });
  }
  // GET /items/K?page=P (1-based): a top-level array; the next page in a relative Link header.
  void InstallLinkApi() {
    upstream_.Get(R"(/items/([^/]+))",
                  [this](const httplib::Request& request, httplib::Response& response) {
      KillAt(request);
      const std::string key = request.matches[1];
      int page = 1;
      if (request.has_param("page") && !absl::SimpleAtoi(request.get_param_value("page"), &page)) {
        response.status = 400;
        return;
      }
      int number = 0;
      const int pages = absl::SimpleAtoi(key, &number) ? PagesOf(number) : 2;
      std::string link = absl::StrCat("</items/", key, "?page=1>; rel=\"first\"");
      if (page < pages) {
        std::string next = key == "away" ? absl::StrCat(OtherUrl(), "/items/away?page=2")
                                         : absl::StrCat("/items/", key, "?page=", page + 1);
        link = absl::StrCat("<", next, ">; rel=\"next\", ", link);
      }
      response.set_header("Link", link);
      response.set_content(Items(key, page - 1).dump(), "application/json");
    });
  }

  // other_'s base URL, for the upstream's threads (set once other_ listens).
  std::string OtherUrl() {
    std::lock_guard<std::mutex> lock(other_mu_);
    return other_url_;
  }
  void StartOther(const std::string& host) {
    other_.Start(host);
    std::lock_guard<std::mutex> lock(other_mu_);
    other_url_ = other_.base_url();
  }

  std::vector<std::string> Args(std::vector<std::string> more) const {
    std::vector<std::string> args = {kBin + "/gather", "--server", gatherd_.value().address,
                                     "lookup", "--field", "id=/id", "--concurrency", "32"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  // Runs the lookup and kills it with SIGKILL once the API answered `kill_at` requests.
  void RunAndKill(const std::vector<std::string>& args, int kill_at) {
    answered_ = 0;
    kill_at_ = kill_at;
    auto child = ChildProcess::Start(args);
    ASSERT_TRUE(child.ok()) << child.status();
    cli_ = child->pid();
    // Killed: stdout reaches EOF. Terminate only reaps it (a second SIGKILL is harmless).
    EXPECT_EQ(child->ReadLine(), "");
    EXPECT_EQ(child->Terminate(SIGKILL), 128 + SIGKILL);
    cli_ = -1;
    kill_at_ = -1;
  }
  // Runs it again with --resume, to the end.
  void Resume(std::vector<std::string> args) {
    args.push_back("--resume");
    RunResult resumed = ::gather::testing::Run(args);
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  }

  // Each (key, id, page, item) from a finished run; fails on an item seen twice.
  struct Item {
    std::string key;
    int page;
    int item;
  };
  static void ExpectEveryItemOnce(const std::map<std::string, Item>& items, int keys) {
    ASSERT_EQ(items.size(), static_cast<size_t>(TotalItems(keys)));
    for (const auto& [id, item] : items) {
      std::vector<std::string> parts = absl::StrSplit(id, '.');
      ASSERT_EQ(parts.size(), 3u) << id;
      ASSERT_EQ(parts[0], item.key) << id << " is on key " << item.key;
      ASSERT_EQ(parts[1], absl::StrCat(item.page - 1)) << id;
      ASSERT_EQ(parts[2], absl::StrCat(item.item)) << id;
    }
  }

  std::string dir_;
  std::mutex other_mu_;
  std::string other_url_;  // guarded by other_mu_
  TestUpstream upstream_;
  TestUpstream other_;
  std::optional<Gatherd> gatherd_;
  std::atomic<int> answered_{0};
  std::atomic<int> kill_at_{-1};
  std::atomic<pid_t> cli_{-1};
};

TEST_F(PagesE2eTest, CursorPagesKilledAndResumedGiveEveryItemOnceOnItsKey) {
  const int n = Scaled(4'000, 400);
  InstallCursorApi();
  upstream_.Start();
  StartServer();
  std::string keys = WriteKeys(n);
  std::string out = Path("out.jsonl");
  std::vector<std::string> args =
      Args({"--template", upstream_.base_url() + "/search?id={key}", "--keys", keys, "--out", out,
            "--items", "/results", "--next-token", "/next_page_token", "--token-param",
            "pagetoken", "--quiet"});
  const int pages = TotalItems(n) / kItemsPerPage;
  RunAndKill(args, pages / 3);
  // Whatever the kill left, also a key cut inside its rows (its first row whole, its second
  // torn): the resume must fetch that key again whole.
  std::set<uint64_t> written;
  std::string partial = ReadFile(out);
  for (absl::string_view line : absl::StrSplit(partial, '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (!json.is_discarded()) written.insert(json["seq"].get<uint64_t>());
  }
  EXPECT_LT(written.size(), static_cast<size_t>(n));
  uint64_t cut = n - 1;
  while (written.count(cut) > 0) --cut;
  if (!partial.empty() && partial.back() != '\n') partial.resize(partial.rfind('\n') + 1);
  std::ofstream(out, std::ios::trunc | std::ios::binary)
      << partial
      << absl::StrCat("{\"seq\":", cut, ",\"page\":1,\"item\":0,\"more\":true,\"key\":\"", cut,
                      "\",\"status\":\"OK\",\"http_status\":200,\"fields\":{\"id\":\"", cut,
                      ".0.0\"},\"attempts\":1,\"latency_ms\":1.00,\"queue_ms\":0.00}\n")
      << absl::StrCat("{\"seq\":", cut, ",\"page\":1,\"item\":1,\"mo");
  Resume(args);
  std::string content = ReadFile(out);
  std::map<std::string, Item> items;
  std::set<uint64_t> keys_seen;
  for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << line;
    ASSERT_EQ(json["status"], "OK") << line;
    const std::string id = json["fields"]["id"];
    Item item{json["key"], json["page"], json["item"]};
    ASSERT_EQ(json["seq"].get<uint64_t>(), std::stoull(item.key)) << line;
    keys_seen.insert(json["seq"].get<uint64_t>());
    ASSERT_TRUE(items.emplace(id, item).second) << id << " twice";
  }
  EXPECT_EQ(keys_seen.size(), static_cast<size_t>(n));
  ExpectEveryItemOnce(items, n);
}

TEST_F(PagesE2eTest, LinkHeaderPagesToCsvKilledAndResumedGiveEveryItemOnce) {
  const int n = Scaled(4'000, 400);
  InstallLinkApi();
  upstream_.Start();
  StartServer();
  std::string keys = WriteKeys(n);
  std::string out = Path("out.csv");
  std::vector<std::string> args =
      Args({"--template", upstream_.base_url() + "/items/{key}", "--keys", keys, "--out", out,
            "--items", "", "--next-url", "link", "--quiet"});
  RunAndKill(args, TotalItems(n) / kItemsPerPage / 2);
  Resume(args);
  std::string content = ReadFile(out);
  std::vector<std::string> lines = absl::StrSplit(content, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "seq,key,page,item,id");
  std::map<std::string, Item> items;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(cells.size(), 5u) << lines[i];
    ASSERT_EQ(cells[0], cells[1]) << lines[i];  // seq K is key K
    Item item{cells[1], std::stoi(cells[2]), std::stoi(cells[3])};
    ASSERT_TRUE(items.emplace(cells[4], item).second) << cells[4] << " twice";
  }
  ExpectEveryItemOnce(items, n);
  // Nothing failed: the errors file has its header only.
  EXPECT_EQ(ReadFile(Path("out.errors.csv")), "seq,key,status,http_status,attempts,error\n");
}

TEST_F(PagesE2eTest, BadPagesEndTheirKeyWithAClearStatus) {
  InstallCursorApi();
  upstream_.Start();
  StartServer();
  std::string keys = Path("keys.txt");
  std::ofstream(keys) << "loop\nnotarray\nfail2\nlong\nempty\n1\n";
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(Args({"--template", upstream_.base_url() + "/search?id={key}", "--keys",
                            keys, "--out", out, "--items", "/results", "--next-token",
                            "/next_page_token", "--token-param", "pagetoken", "--max-pages", "4",
                            "--max-attempts", "1"}));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  std::map<std::string, std::vector<nlohmann::json>> rows;
  for (absl::string_view line : absl::StrSplit(ReadFile(out), '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line);
    rows[json["key"]].push_back(json);
  }
  ASSERT_EQ(rows["loop"].size(), 1u);
  EXPECT_EQ(rows["loop"][0]["status"], "BAD_CONTENT");
  EXPECT_NE(rows["loop"][0]["error"].get<std::string>().find("page loop"), std::string::npos);
  ASSERT_EQ(rows["notarray"].size(), 1u);
  EXPECT_EQ(rows["notarray"][0]["status"], "BAD_CONTENT");
  EXPECT_NE(rows["notarray"][0]["error"].get<std::string>().find("no array at /results"),
            std::string::npos);
  ASSERT_EQ(rows["fail2"].size(), 1u);
  EXPECT_EQ(rows["fail2"][0]["status"], "HTTP_ERROR");
  EXPECT_EQ(rows["fail2"][0]["page"], 2);
  EXPECT_EQ(rows["fail2"][0]["http_status"], 500);
  EXPECT_NE(rows["fail2"][0]["error"].get<std::string>().find("were not sent"), std::string::npos);
  // --max-pages 4 of 9: the rows of 4 pages, the last one says the pages were cut.
  ASSERT_EQ(rows["long"].size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(rows["long"][i]["status"], "OK");
    EXPECT_EQ(rows["long"][i].contains("more"), i < 11);
    EXPECT_EQ(rows["long"][i].contains("pages_cut"), i == 11);
  }
  ASSERT_EQ(rows["empty"].size(), 1u);
  EXPECT_EQ(rows["empty"][0]["status"], "MISSING");
  ASSERT_EQ(rows["1"].size(), 6u);
  EXPECT_NE(run.err.find("1 keys had more pages than --max-pages"), std::string::npos) << run.err;
}

TEST_F(PagesE2eTest, ANextPageOnAnotherHostGetsNoCredentialAndObeysTheEgressPolicy) {
  InstallLinkApi();
  upstream_.Start();
  std::mutex mu;
  std::vector<std::string> seen_keys;
  other_.Get(R"(/items/away)", [&](const httplib::Request& request, httplib::Response& response) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen_keys.push_back(request.get_header_value("X-Api-Key"));
    }
    response.set_content(Items("away", 1).dump(), "application/json");
  });
  StartOther("127.0.0.2");
  std::string keys = Path("keys.txt");
  std::ofstream(keys) << "away\n";
  auto args = [&](const std::string& out) {
    return Args({"--template", upstream_.base_url() + "/items/{key}", "--keys", keys, "--out",
                 Path(out), "--items", "", "--next-url", "link", "--header", "X-Api-Key: s3cret"});
  };
  StartServer("127.0.0.0/8");
  RunResult run = ::gather::testing::Run(args("open.jsonl"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(seen_keys.size(), 1u);
    EXPECT_EQ(seen_keys[0], "");  // the header stayed with the key's own host
  }
  EXPECT_EQ(ReadFile(Path("open.jsonl")).find("s3cret"), std::string::npos);

  StartServer("127.0.0.1/32");  // 127.0.0.2 is now forbidden
  run = ::gather::testing::Run(args("closed.jsonl"));
  EXPECT_EQ(run.exit_code, 1) << run.err;
  auto row = nlohmann::json::parse(ReadFile(Path("closed.jsonl")));
  EXPECT_EQ(row["status"], "BLOCKED") << row.dump();
  EXPECT_EQ(row["page"], 2);
}

TEST_F(PagesE2eTest, FetchFollowsEachNamedUrlsPages) {
  InstallCursorApi();
  upstream_.Start();
  StartServer();
  const std::string base = upstream_.base_url() + "/search?id=";
  RunResult run = ::gather::testing::Run(
      {kBin + "/gather", "--server", gatherd_->address, "fetch", "one=" + base + "1",
       "three=" + base + "3", "bad=" + base + "notarray", "--field", "id=/id", "--items",
       "/results", "--next-token", "/next_page_token", "--token-param", "pagetoken",
       "--combine"});
  EXPECT_EQ(run.exit_code, 1) << run.err;  // "bad" has no array
  auto combined = nlohmann::json::parse(run.out);
  ASSERT_EQ(combined["one"].size(), 6u) << run.out;  // 2 pages of 3
  ASSERT_EQ(combined["three"].size(), 12u) << run.out;
  for (int p = 0; p < 4; ++p) {
    for (int i = 0; i < kItemsPerPage; ++i) {
      EXPECT_EQ(combined["three"][p * kItemsPerPage + i]["id"], absl::StrCat("3.", p, ".", i));
    }
  }
  EXPECT_EQ(combined["errors"]["bad"]["status"], "BAD_CONTENT") << run.out;

  // Without --combine: a JSON line per row, the job's rows one after the other.
  run = ::gather::testing::Run({kBin + "/gather", "--server", gatherd_->address, "fetch",
                                "one=" + base + "1", "--field", "id=/id", "--items", "/results",
                                "--next-token", "/next_page_token", "--token-param",
                                "pagetoken"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u) << run.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto row = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(row["page"], i / kItemsPerPage + 1);
    EXPECT_EQ(row["item"], i % kItemsPerPage);
    EXPECT_EQ(row.contains("more"), i + 1 < lines.size());
  }
}

TEST_F(PagesE2eTest, PageFlagsAreCheckedBeforeAnythingRuns) {
  InstallCursorApi();
  upstream_.Start();
  StartServer();
  std::string keys = WriteKeys(3);
  auto run_with = [&](std::vector<std::string> more) {
    std::vector<std::string> args =
        Args({"--template", upstream_.base_url() + "/search?id={key}", "--keys", keys});
    args.insert(args.end(), more.begin(), more.end());
    RunResult run = ::gather::testing::Run(args);
    EXPECT_EQ(run.exit_code, 2) << run.err;
    return run.err;
  };
  EXPECT_NE(run_with({"--next-token", "/t"}).find("--token-param"), std::string::npos);
  EXPECT_NE(run_with({"--next-url", "next"}).find("--next-url"), std::string::npos);
  EXPECT_NE(run_with({"--next-url", "link", "--next-token", "/t", "--token-param", "p"})
                .find("give one of them"),
            std::string::npos);
  EXPECT_NE(run_with({"--items", "results"}).find("--items"), std::string::npos);
  EXPECT_NE(run_with({"--max-pages", "3"}).find("--max-pages"), std::string::npos);
  EXPECT_NE(run_with({"--next-url", "link", "--max-pages", "20000"}).find("--max-pages"),
            std::string::npos);
}

}  // namespace
}  // namespace gather::testing
