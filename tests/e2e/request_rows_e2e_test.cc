// End to end: `gather lookup` with rows of parameters (CSV, JSONL) filling {NAME} placeholders in
// the URL and in a POSTed JSON body, against a local API that records exactly what it received,
// through a real gatherd.
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
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

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One CSV field, quoted (RFC 4180).
std::string Csv(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Values that break naive encodings: URL syntax, quotes, commas, backslashes, line breaks,
// padding, CJK and emoji.
std::string HardValue(int i) {
  static const char* const kPieces[] = {
      " a b ", "&", "=", "?", "#", "/", "%", "+", "\"quoted\"", "x,y", "back\\slash",
      "line\nbreak", "東京", "🙂", "  padded  ", "tab\tin", "semi;colon", "a%20b"};
  constexpr int kCount = sizeof(kPieces) / sizeof(kPieces[0]);
  return absl::StrCat("v", i, kPieces[i % kCount], kPieces[(i * 7 + 3) % kCount]);
}

class RequestRowsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gather_rows_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    gatherd_.reset();
    upstream_.Stop();
    std::filesystem::remove_all(dir_);
  }
  void StartServer(std::vector<std::string> flags = {}) {
    flags.push_back("--egress_allow=127.0.0.0/8");
    auto gatherd = StartGatherd(kBin, std::move(flags), false);
    ASSERT_TRUE(gatherd.ok()) << gatherd.status();
    gatherd_.emplace(*std::move(gatherd));
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // id,name,city,note: 4 hard values per row.
  std::string WriteCsv(int n) {
    std::string path = Path("rows.csv");
    std::ofstream out(path, std::ios::binary);
    out << "id,name,city,note\n";
    for (int i = 0; i < n; ++i) {
      out << i << "," << Csv(HardValue(i)) << "," << Csv(HardValue(i + 1000)) << ","
          << Csv(HardValue(i + 2000)) << "\n";
    }
    return path;
  }
  std::vector<std::string> Args(std::vector<std::string> more) {
    std::vector<std::string> args = {kBin + "/gather", "--server", gatherd_->address, "lookup",
                                     "--quiet"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  std::mutex mu_;  // before the upstream whose handlers use it
  std::map<std::string, int> hits_;
  std::vector<nlohmann::json> posted_;
  TestUpstream upstream_;
  std::optional<Gatherd> gatherd_;
  std::string dir_;
};

TEST_F(RequestRowsE2eTest, EveryCsvValueArrivesExactlyInTheUrl) {
  upstream_.Get("/search", [&](const httplib::Request& request, httplib::Response& response) {
    nlohmann::json echo = {{"id", request.get_param_value("id")},
                           {"name", request.get_param_value("name")},
                           {"city", request.get_param_value("city")},
                           {"note", request.get_param_value("note")}};
    response.set_content(echo.dump(), "application/json");
  });
  upstream_.Start();
  StartServer();
  const int n = 600;
  std::string keys = WriteCsv(n);
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(Args({"--template",
                            upstream_.base_url() +
                                "/search?id={id}&name={name}&city={city}&note={note}",
                            "--keys", keys, "--out", out, "--field", "id=/id", "--field",
                            "name=/name", "--field", "city=/city", "--field", "note=/note"}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  int rows = 0;
  for (absl::string_view line : absl::StrSplit(ReadFile(out), '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line);
    ++rows;
    const int i = std::stoi(json["key"]["id"].get<std::string>());
    ASSERT_EQ(json["status"], "OK") << line;
    EXPECT_EQ(json["seq"], i);
    EXPECT_EQ(json["fields"]["name"], HardValue(i)) << line;
    EXPECT_EQ(json["fields"]["city"], HardValue(i + 1000)) << line;
    EXPECT_EQ(json["fields"]["note"], HardValue(i + 2000)) << line;
    EXPECT_EQ(json["key"]["note"], HardValue(i + 2000)) << line;  // the row, as read
  }
  EXPECT_EQ(rows, n);
}

TEST_F(RequestRowsE2eTest, PostedJsonBodiesCarryEveryValueAndBadRowsAreNeverSent) {
  upstream_.Route("POST", "/search", [&](const httplib::Request& request,
                                         httplib::Response& response) {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(body);
    response.set_content(R"({"ok":true})", "application/json");
  });
  upstream_.Start();
  StartServer();
  std::string keys = Path("rows.jsonl");
  {
    std::ofstream file(keys, std::ios::binary);
    for (int i = 0; i < 50; ++i) {
      nlohmann::json row = {{"q", HardValue(i)}, {"lat", std::to_string(40 + i) + ".5"}};
      file << row.dump() << "\n";
    }
    file << R"({"q": "no number", "lat": "north"})" << "\n";  // "lat": north is not JSON
  }
  std::string out = Path("out.jsonl");
  RunResult run = ::gather::testing::Run(Args({"--template", upstream_.base_url() + "/search", "--method", "POST",
                            "--body", R"({"query": "{q}", "lat": {lat}, "page": 1})", "--keys",
                            keys, "--out", out, "--field", "ok=/ok"}));
  EXPECT_EQ(run.exit_code, 1) << run.err;  // the bad row failed
  std::map<int, nlohmann::json> by_seq;
  for (absl::string_view line : absl::StrSplit(ReadFile(out), '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line);
    by_seq[json["seq"].get<int>()] = json;
  }
  ASSERT_EQ(by_seq.size(), 51u);
  EXPECT_EQ(by_seq[50]["status"], "INVALID_KEY");
  EXPECT_NE(by_seq[50]["error"].get<std::string>().find("not valid JSON"), std::string::npos);
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(posted_.size(), 50u);  // the bad row never went out
  std::map<std::string, double> lat_by_query;
  for (const nlohmann::json& body : posted_) {
    ASSERT_TRUE(body.is_object());
    ASSERT_TRUE(body["lat"].is_number()) << body.dump();
    EXPECT_EQ(body["page"], 1);
    lat_by_query[body["query"].get<std::string>()] = body["lat"].get<double>();
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(lat_by_query[HardValue(i)], 40 + i + 0.5) << i;
}

TEST_F(RequestRowsE2eTest, APostIsRetriedOnA503OnlyWithIdempotent) {
  upstream_.Route("POST", R"(/flaky/(\d+))", [&](const httplib::Request& request,
                                                 httplib::Response& response) {
    int n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = ++hits_[request.path + "?" + request.get_param_value("run")];
    }
    response.status = n % 2 == 1 ? 503 : 200;  // every other attempt fails
    response.set_content("{}", "application/json");
  });
  upstream_.Start();
  // The retry budget wide open: the method decides alone whether a 503 is retried.
  StartServer({"--retry_budget_ratio=10", "--retry_budget_min_per_second=1000"});
  std::string keys = Path("keys.txt");
  {
    std::ofstream file(keys);
    for (int i = 0; i < 20; ++i) file << i << "\n";
  }
  auto run = [&](std::vector<std::string> extra, const std::string& out) {
    std::vector<std::string> args = {"--template",
                                     upstream_.base_url() + "/flaky/{key}?run=" + out,
                                     "--method", "POST", "--body", R"({"id": "{key}"})",
                                     "--keys", keys, "--out", out, "--max-attempts", "3"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ::gather::testing::Run(Args(args));
  };
  RunResult plain = run({}, Path("plain.jsonl"));
  EXPECT_EQ(plain.exit_code, 1) << plain.err;
  for (absl::string_view line : absl::StrSplit(ReadFile(Path("plain.jsonl")), '\n',
                                               absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line);
    EXPECT_EQ(json["status"], "HTTP_ERROR") << line;
    EXPECT_EQ(json["attempts"], 1) << line;
  }
  RunResult idempotent = run({"--idempotent"}, Path("idem.jsonl"));
  EXPECT_EQ(idempotent.exit_code, 0) << idempotent.err;
  for (absl::string_view line : absl::StrSplit(ReadFile(Path("idem.jsonl")), '\n',
                                               absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line);
    EXPECT_EQ(json["status"], "OK") << line;
    EXPECT_EQ(json["attempts"], 2) << line;
  }
}

TEST_F(RequestRowsE2eTest, APlaceholderNamingNoColumnIsAUsageError) {
  upstream_.Start();
  StartServer();
  std::string keys = WriteCsv(3);
  RunResult run = ::gather::testing::Run(Args({"--template", upstream_.base_url() + "/x?q={nmae}", "--keys", keys,
                            "--out", Path("out.jsonl")}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("{nmae} names no column"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(Path("out.jsonl")));
  RunResult format = ::gather::testing::Run(Args({"--template", upstream_.base_url() + "/x?q={name}", "--keys", keys,
                               "--keys-format", "xml", "--out", Path("out.jsonl")}));
  EXPECT_EQ(format.exit_code, 2);
  EXPECT_NE(format.err.find("--keys-format"), std::string::npos) << format.err;
  RunResult body = ::gather::testing::Run(Args({"--template", upstream_.base_url() + "/x", "--method", "POST",
                             "--body", R"({"q": "{name}")", "--keys", keys, "--out",
                             Path("out.jsonl")}));
  EXPECT_EQ(body.exit_code, 2);
  EXPECT_NE(body.err.find("--body"), std::string::npos) << body.err;
}

TEST_F(RequestRowsE2eTest, FetchGivesNamedFieldsAsRowsAndCombined) {
  upstream_.Get(R"(/stats/(\w+))", [&](const httplib::Request& request,
                                       httplib::Response& response) {
    const std::string name = request.matches[1];
    if (name == "broken") {
      response.status = 500;
      return;
    }
    nlohmann::json body = {{"name", name}, {"total", name.size() * 100},
                           {"peak", {{"value", 12345678901234567890ull}}}};
    response.set_content(body.dump(), "application/json");
  });
  upstream_.Start();
  StartServer();
  const std::string base = upstream_.base_url() + "/stats/";
  std::vector<std::string> args = {kBin + "/gather", "--server", gatherd_->address, "fetch",
                                   "daily=" + base + "daily", "hourly=" + base + "hourly",
                                   "weekly=" + base + "weekly", "bad=" + base + "broken",
                                   "--field", "total=/total", "--field", "peak=/peak/value"};
  RunResult rows = ::gather::testing::Run(args);
  EXPECT_EQ(rows.exit_code, 1) << rows.err;
  std::map<std::string, nlohmann::json> by_id;
  for (absl::string_view line : absl::StrSplit(rows.out, '\n', absl::SkipEmpty())) {
    auto json = nlohmann::json::parse(line);
    by_id[json["id"].get<std::string>()] = json;
  }
  ASSERT_EQ(by_id.size(), 4u) << rows.out;
  EXPECT_EQ(by_id["daily"]["fields"]["total"], 500);
  EXPECT_EQ(by_id["hourly"]["fields"]["total"], 600);
  EXPECT_EQ(by_id["bad"]["status"], "HTTP_ERROR");
  EXPECT_EQ(by_id["bad"]["http_status"], 500);
  EXPECT_NE(rows.out.find("\"peak\":12345678901234567890"), std::string::npos) << rows.out;

  args.push_back("--combine");
  RunResult combined = ::gather::testing::Run(args);
  EXPECT_EQ(combined.exit_code, 1) << combined.err;
  auto json = nlohmann::json::parse(combined.out);
  EXPECT_EQ(json["daily"]["total"], 500);
  EXPECT_EQ(json["weekly"]["total"], 600);
  EXPECT_EQ(json["errors"]["bad"]["status"], "HTTP_ERROR");
  EXPECT_FALSE(json.contains("bad"));
}

}  // namespace
}  // namespace gather::testing
