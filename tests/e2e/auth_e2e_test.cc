// End to end: who may call gatherd (TLS, mTLS, bearer tokens, rotation) and credential profiles
// (headers added by the server, host lists, no redirects, no secret in any output), through a real
// gatherd, the gather CLI, a test PKI made with openssl and a local upstream.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/support/process.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;
const std::string kSource = GATHER_SOURCE_DIR;
constexpr char kToken[] = "etl-token-4f1c2e9a7b3d5e6f";
constexpr char kLimitedToken[] = "bi-token-9a8b7c6d5e4f3a2b";
constexpr char kProfileSecret[] = "SECRET-PROFILE-7d41c0ffee";
constexpr char kHeaderSecret[] = "SECRET-HEADER-5e2bad1dea";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class AuthE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/gather_auth_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = new std::string(dir);
    RunResult pki = ::gather::testing::Run(
        {"/bin/bash", kSource + "/tests/support/make_test_pki.sh", *dir_ + "/pki"});
    ASSERT_EQ(pki.exit_code, 0) << pki.err;
    Write("tokens", absl::StrCat("# name token [profiles]\netl ", kToken, "\nbi ", kLimitedToken,
                                 " -\n"));
    Write("good.token", absl::StrCat(kToken, "\n"));
    Write("limited.token", absl::StrCat(kLimitedToken, "\n"));
    Write("wrong.token", "etl-token-0000000000000000\n");
    std::string keys;
    for (int i = 1; i <= 20; ++i) absl::StrAppend(&keys, i, "\n");
    Write("keys.txt", keys);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static void Write(const std::string& name, const std::string& text) {
    std::ofstream(*dir_ + "/" + name) << text;
  }
  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string Pki(const std::string& name) { return *dir_ + "/pki/" + name; }

  void SetUp() override {
    upstream_.Get(R"(/items/(\d+))", [this](const httplib::Request& request,
                                            httplib::Response& response) {
      Record(request);
      response.set_content(absl::StrCat("{\"id\":", request.matches[1].str(), ",\"name\":\"item\"}"),
                           "application/json");
    });
    upstream_.Get(R"(/moved/(\d+))", [this](const httplib::Request& request,
                                            httplib::Response& response) {
      Record(request);
      response.status = 302;
      response.set_header("Location", absl::StrCat("/sink/", request.matches[1].str()));
    });
    upstream_.Get(R"(/sink/(\d+))", [this](const httplib::Request& request,
                                           httplib::Response& response) {
      Record(request);
      response.set_content("{\"sink\":true}", "application/json");
    });
    upstream_.Start();
  }

  void Record(const httplib::Request& request) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(absl::StrCat(request.path, " ", request.get_header_value("Authorization")));
  }
  std::vector<std::string> Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  // `gather [connection...] lookup` of keys 1..20 against `path`/{key} into `out`.
  RunResult Lookup(const std::string& address, std::vector<std::string> connection,
                   std::vector<std::string> extra = {}, const std::string& path = "/items/",
                   const std::string& out = "-") {
    std::vector<std::string> argv = {kBin + "/gather", "--server", address};
    argv.insert(argv.end(), connection.begin(), connection.end());
    for (std::string arg : {std::string("lookup"), std::string("--template"),
                            absl::StrCat(upstream_.base_url(), path, "{key}"),
                            std::string("--keys"), Path("keys.txt"), std::string("--field"),
                            std::string("name=/name"), std::string("--out"), out,
                            std::string("--quiet")}) {
      argv.push_back(arg);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return ::gather::testing::Run(argv);
  }

  static inline std::string* dir_ = nullptr;
  // Declared before the upstream, whose handlers record here: they must outlive it (gatherd may
  // still be fetching when a test ends; TSan caught the vector destroyed under a handler).
  std::mutex mu_;
  std::vector<std::string> seen_;
  TestUpstream upstream_;
};

int CountOk(const std::string& jsonl) {
  int ok = 0;
  std::istringstream lines(jsonl);
  for (std::string line; std::getline(lines, line);) {
    if (absl::StrContains(line, "\"status\":\"OK\"")) ++ok;
  }
  return ok;
}

TEST_F(AuthE2eTest, TlsWithTokensRefusesWrongCallersAndServesTheRightOne) {
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--tls_cert=" + Pki("server.pem"),
                                     "--tls_key=" + Pki("server.key"),
                                     "--token_file=" + Path("tokens")});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  const std::vector<std::string> tls = {"--ca_file", Pki("ca.pem")};

  // Health stays open to probes without a token.
  RunResult health = ::gather::testing::Run(
      {kBin + "/gather", "--server", gatherd->address, "--ca_file", Pki("ca.pem"), "health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_NE(health.out.find("SERVING"), std::string::npos);

  RunResult none = Lookup(gatherd->address, tls);
  EXPECT_EQ(none.exit_code, 2) << none.err;
  EXPECT_NE(none.err.find("requires a bearer token"), std::string::npos) << none.err;
  EXPECT_EQ(CountOk(none.out), 0);

  std::vector<std::string> wrong = tls;
  wrong.insert(wrong.end(), {"--token_file", Path("wrong.token")});
  RunResult refused = Lookup(gatherd->address, wrong);
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("not valid"), std::string::npos) << refused.err;

  std::vector<std::string> good = tls;
  good.insert(good.end(), {"--token_file", Path("good.token")});
  RunResult served = Lookup(gatherd->address, good);
  EXPECT_EQ(served.exit_code, 0) << served.err;
  EXPECT_EQ(CountOk(served.out), 20);
  EXPECT_EQ(upstream_.requests(), 20);  // the refused calls fetched nothing

  // A plaintext client, or one that does not trust the server's CA, cannot even connect.
  std::vector<std::string> plaintext = {"--token_file", Path("good.token")};
  EXPECT_EQ(Lookup(gatherd->address, plaintext).exit_code, 3);
  std::vector<std::string> other_ca = {"--ca_file", Pki("other-ca.pem"), "--token_file",
                                       Path("good.token")};
  EXPECT_EQ(Lookup(gatherd->address, other_ca).exit_code, 3);
  EXPECT_EQ(upstream_.requests(), 20);
}

TEST_F(AuthE2eTest, MutualTlsServesOnlyCertificatesOfItsClientCa) {
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--tls_cert=" + Pki("server.pem"),
                                     "--tls_key=" + Pki("server.key"),
                                     "--tls_client_ca=" + Pki("ca.pem")});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();

  RunResult health = ::gather::testing::Run(
      {kBin + "/gather", "--server", gatherd->address, "--ca_file", Pki("ca.pem"), "health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;

  RunResult no_cert = Lookup(gatherd->address, {"--ca_file", Pki("ca.pem")});
  EXPECT_EQ(no_cert.exit_code, 2) << no_cert.err;
  EXPECT_NE(no_cert.err.find("client certificate"), std::string::npos) << no_cert.err;

  RunResult other = Lookup(gatherd->address, {"--ca_file", Pki("ca.pem"), "--cert",
                                              Pki("other-client.pem"), "--key",
                                              Pki("other-client.key")});
  EXPECT_EQ(other.exit_code, 3) << other.err;
  EXPECT_EQ(upstream_.requests(), 0);

  RunResult served = Lookup(gatherd->address, {"--ca_file", Pki("ca.pem"), "--cert",
                                               Pki("client.pem"), "--key", Pki("client.key")});
  EXPECT_EQ(served.exit_code, 0) << served.err;
  EXPECT_EQ(CountOk(served.out), 20);
}

TEST_F(AuthE2eTest, RotatedTokensTakeEffectWithoutARestart) {
  const std::string tokens = Path("rotating.tokens");
  std::ofstream(tokens) << "etl " << kToken << "\n";
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--token_file=" + tokens},
                              /*capture_stderr=*/true);
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  EXPECT_EQ(Lookup(gatherd->address, {"--token_file", Path("good.token")}).exit_code, 0);

  // Rotate: the new file replaces the old one (as a Kubernetes Secret update does).
  std::ofstream(tokens + ".new") << "etl " << kLimitedToken << "\n";
  std::filesystem::rename(tokens + ".new", tokens);
  kill(gatherd->process.pid(), SIGHUP);
  ASSERT_TRUE(gatherd->process.WaitForStderr("reloaded --token_file", absl::Seconds(30)))
      << gatherd->process.stderr_text();

  EXPECT_EQ(Lookup(gatherd->address, {"--token_file", Path("good.token")}).exit_code, 2);
  EXPECT_EQ(Lookup(gatherd->address, {"--token_file", Path("limited.token")}).exit_code, 0);
  std::string log = gatherd->process.stderr_text();
  EXPECT_EQ(log.find(kToken), std::string::npos);
  EXPECT_EQ(log.find(kLimitedToken), std::string::npos);
}

TEST_F(AuthE2eTest, CredentialProfilesAddSecretsThatNeverLeak) {
  Write("profiles.json", absl::StrCat(R"({"places-api": {"hosts": ["127.0.0.1"],
      "headers": {"Authorization": "Bearer )", kProfileSecret, R"("}},
      "elsewhere": {"hosts": ["api.example.com"], "headers": {"X-Key": ")", kProfileSecret,
                                      R"("}}})"));
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--follow_redirects=3",
                                     "--token_file=" + Path("tokens"),
                                     "--credentials_file=" + Path("profiles.json")},
                              /*capture_stderr=*/true);
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  const std::vector<std::string> etl = {"--token_file", Path("good.token")};
  std::vector<RunResult> runs;

  // The profile's header reaches the upstream on every request; the caller never held it.
  const std::string out = Path("profile.jsonl");
  RunResult served = Lookup(gatherd->address, etl, {"--credential", "places-api"}, "/items/", out);
  EXPECT_EQ(served.exit_code, 0) << served.err;
  EXPECT_EQ(CountOk(ReadAll(out)), 20);
  std::vector<std::string> seen = Seen();
  ASSERT_EQ(seen.size(), 20u);
  for (const std::string& line : seen) {
    EXPECT_TRUE(absl::EndsWith(line, absl::StrCat("Bearer ", kProfileSecret))) << line;
  }
  runs.push_back(served);

  // A redirect would carry the secret elsewhere: with a profile it is never followed.
  RunResult moved = Lookup(gatherd->address, etl, {"--credential", "places-api"}, "/moved/");
  EXPECT_EQ(moved.exit_code, 1);
  EXPECT_NE(moved.out.find("REDIRECT_ERROR"), std::string::npos) << moved.out;
  for (const std::string& line : Seen()) EXPECT_FALSE(absl::StartsWith(line, "/sink/")) << line;
  runs.push_back(moved);
  // Without a profile the same redirects are followed (--follow_redirects=3).
  RunResult followed = Lookup(gatherd->address, etl, {}, "/moved/");
  EXPECT_EQ(followed.exit_code, 0) << followed.err;
  int sink_hits = 0;
  for (const std::string& line : Seen()) sink_hits += absl::StartsWith(line, "/sink/") ? 1 : 0;
  EXPECT_EQ(sink_hits, 20);

  // Refusals: a host outside the profile's list, a caller not allowed the profile, an unknown
  // profile, a request header that would override the profile's.
  RunResult host = Lookup(gatherd->address, etl, {"--credential", "elsewhere"});
  EXPECT_EQ(host.exit_code, 2);
  EXPECT_NE(host.err.find("may not be sent to host"), std::string::npos) << host.err;
  RunResult limited =
      Lookup(gatherd->address, {"--token_file", Path("limited.token")},
             {"--credential", "places-api"});
  EXPECT_EQ(limited.exit_code, 2);
  EXPECT_NE(limited.err.find("may not use credential"), std::string::npos) << limited.err;
  RunResult unknown = Lookup(gatherd->address, etl, {"--credential", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("spec.credential"), std::string::npos) << unknown.err;
  RunResult conflict = Lookup(gatherd->address, etl,
                              {"--credential", "places-api", "--header",
                               absl::StrCat("Authorization: Bearer ", kHeaderSecret)});
  EXPECT_EQ(conflict.exit_code, 2);
  for (const RunResult& run : {host, limited, unknown, conflict}) runs.push_back(run);

  // A caller's own Authorization header, with failures in the run (unreachable port).
  RunResult own = ::gather::testing::Run(
      {kBin + "/gather", "--server", gatherd->address, "--token_file", Path("good.token"),
       "lookup", "--template", "http://127.0.0.1:1/items/{key}", "--keys", Path("keys.txt"),
       "--header", absl::StrCat("Authorization: Bearer ", kHeaderSecret), "--max-attempts", "1",
       "--out", "-", "--quiet"});
  EXPECT_EQ(own.exit_code, 1) << own.err;
  runs.push_back(own);
  RunResult rank = ::gather::testing::Run(
      {kBin + "/gather", "--server", gatherd->address, "--token_file", Path("good.token"), "rank",
       "--credential", "places-api", "--pointer", "/id", "--json",
       absl::StrCat(upstream_.base_url(), "/items/77")});
  EXPECT_EQ(rank.exit_code, 0) << rank.err;
  EXPECT_EQ(Seen().back(), absl::StrCat("/items/77 Bearer ", kProfileSecret));
  runs.push_back(rank);

  // No secret in any output, error, or gatherd's log.
  for (const RunResult& run : runs) {
    for (const char* secret : {kProfileSecret, kHeaderSecret, kToken}) {
      EXPECT_EQ(run.out.find(secret), std::string::npos) << run.out;
      EXPECT_EQ(run.err.find(secret), std::string::npos) << run.err;
    }
  }
  std::string files = ReadAll(out);
  gatherd->process.Terminate(SIGTERM);
  std::string log = gatherd->process.stderr_text();
  for (const char* secret : {kProfileSecret, kHeaderSecret, kToken}) {
    EXPECT_EQ(files.find(secret), std::string::npos);
    EXPECT_EQ(log.find(secret), std::string::npos) << log;
  }
}

}  // namespace
}  // namespace gather::testing
