// End to end: HTTPS upstreams. gatherd fetches from a real nginx with a test CA over HTTP/2
// (ALPN), verifies certificates by default, and trusts a private CA given with --ca_file.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/nginx_upstream.h"
#include "tests/support/process.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;
const std::string kSource = GATHER_SOURCE_DIR;

class TlsUpstreamE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/gather_tls_upstream_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    RunResult pki = ::gather::testing::Run(
        {"/bin/bash", kSource + "/tests/support/make_test_pki.sh", dir_ + "/pki"});
    ASSERT_EQ(pki.exit_code, 0) << pki.err;
    auto nginx = NginxUpstream::StartTls(dir_ + "/nginx", dir_ + "/pki/server.pem",
                                         dir_ + "/pki/server.key");
    ASSERT_TRUE(nginx.ok()) << nginx.status();
    nginx_ = *std::move(nginx);
    std::string keys;
    for (int i = 1; i <= kKeys; ++i) absl::StrAppend(&keys, i, "\n");
    std::ofstream(dir_ + "/keys.txt") << keys;
  }
  void TearDown() override {
    nginx_.reset();
    std::filesystem::remove_all(dir_);
  }
  RunResult Lookup(const std::string& address, const std::string& keys = "keys.txt") {
    return ::gather::testing::Run(
        {kBin + "/gather", "--server", address, "lookup", "--template",
         absl::StrCat("https://127.0.0.1:", nginx_->port(), "/entities/{key}"), "--keys",
         dir_ + "/" + keys, "--field", "id=/id", "--field", "label=/label", "--concurrency",
         "20", "--out", "-", "--quiet"});
  }
  static int Count(const std::string& text, const std::string& needle) {
    int count = 0;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) count += absl::StrContains(line, needle);
    return count;
  }

  static constexpr int kKeys = 300;
  std::string dir_;
  std::unique_ptr<NginxUpstream> nginx_;
};

TEST_F(TlsUpstreamE2eTest, FetchesOverHttp2WithAPrivateCa) {
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8", "--ca_file=" + dir_ + "/pki/ca.pem"});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  RunResult run = Lookup(gatherd->address);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Count(run.out, "\"status\":\"OK\""), kKeys);
  EXPECT_NE(run.out.find("\"label\":\"entity 42\""), std::string::npos);
  std::string log = nginx_->access_log();
  EXPECT_EQ(Count(log, " HTTP/2.0 200"), kKeys) << log.substr(0, 2000);
  EXPECT_EQ(Count(log, "HTTP/1.1"), 0);
}

TEST_F(TlsUpstreamE2eTest, VerificationIsOnByDefault) {
  // The system's CAs do not include the test CA: every key fails the handshake, nothing is sent.
  // (Each failed handshake costs a fresh connection, so a short list.)
  std::ofstream(dir_ + "/few.txt") << "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  auto gatherd = StartGatherd(kBin, {"--egress_allow=127.0.0.0/8"});
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  RunResult run = Lookup(gatherd->address, "few.txt");
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_EQ(Count(run.out, "\"status\":\"TLS_ERROR\""), 10) << run.out.substr(0, 1000);
  EXPECT_NE(run.out.find("certificate"), std::string::npos);
  EXPECT_EQ(Count(nginx_->access_log(), "/entities/"), 0);
}

}  // namespace
}  // namespace gather::testing
