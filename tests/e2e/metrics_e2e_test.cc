// End to end: gatherd's Prometheus page (--metrics_listen) passes promtool, and its job counters
// match the rows the CLI wrote; no header value appears on it.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/entity_fixture.h"
#include "tests/support/process.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;
constexpr char kSecret[] = "SECRET-METRICS-0b5e1ee7";

// The value of the sample `name{labels}` on a Prometheus text page, or -1.
double Sample(const std::string& page, const std::string& series) {
  std::istringstream lines(page);
  for (std::string line; std::getline(lines, line);) {
    if (absl::StartsWith(line, series + " ")) {
      double value = -1;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &value)) return value;
    }
  }
  return -1;
}

TEST(MetricsE2eTest, PagePassesPromtoolAndCountsTheRowsTheCliWrote) {
  TestUpstream upstream;
  EntityFixture entities;
  entities.Install(upstream);
  upstream.Start();
  auto gatherd = StartGatherd(
      kBin, {"--egress_allow=127.0.0.0/8", "--metrics_listen=127.0.0.1:0"}, /*capture_stderr=*/true);
  ASSERT_TRUE(gatherd.ok()) << gatherd.status();
  ASSERT_TRUE(gatherd->process.WaitForStderr("/metrics", absl::Seconds(10)));
  std::string log = gatherd->process.stderr_text();
  size_t at = log.find("metrics on ");
  ASSERT_NE(at, std::string::npos) << log;
  std::string address = log.substr(at + 11, log.find("/metrics", at) - at - 11);
  std::string host = address.substr(0, address.rfind(':'));
  int port = std::stoi(address.substr(address.rfind(':') + 1));

  char dir[] = "/tmp/gather_metrics_e2e_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string keys;
  const int n = 3000;
  for (int i = 1; i <= n; ++i) absl::StrAppend(&keys, i, "\n");
  absl::StrAppend(&keys, "\n");  // an empty key: INVALID_KEY
  std::ofstream(absl::StrCat(dir, "/keys.txt")) << keys;
  RunResult run = ::gather::testing::Run(
      {kBin + "/gather", "--server", gatherd->address, "lookup", "--template",
       upstream.base_url() + "/api/v2/entities/{key}", "--keys", absl::StrCat(dir, "/keys.txt"),
       "--field", "label=/label", "--require", "/location", "--header",
       absl::StrCat("Authorization: Bearer ", kSecret), "--out", "-", "--quiet"});
  EXPECT_EQ(run.exit_code, 1) << run.err;  // the fixture's 404s and non-JSON bodies

  std::map<std::string, int> rows;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    ++rows[nlohmann::json::parse(line).at("status").get<std::string>()];
  }
  ASSERT_EQ(rows["OK"] + rows["MISSING"] + rows["HTTP_ERROR"] + rows["BAD_CONTENT"] +
                rows["INVALID_KEY"],
            n + 1);
  EXPECT_GT(rows["MISSING"], 0);
  EXPECT_GT(rows["HTTP_ERROR"], 0);
  EXPECT_EQ(rows["INVALID_KEY"], 1);

  httplib::Client client(host, port);
  auto page = client.Get("/metrics");
  ASSERT_TRUE(page) << "no answer from the metrics port";
  ASSERT_EQ(page->status, 200);
  for (const auto& [status, count] : rows) {
    EXPECT_EQ(Sample(page->body, absl::StrCat("gather_jobs_total{method=\"BatchLookup\",status=\"",
                                              status, "\"}")),
              count)
        << status;
  }
  EXPECT_EQ(Sample(page->body, "gather_rpcs_total{code=\"OK\",method=\"BatchLookup\"}"), 1);
  EXPECT_EQ(Sample(page->body, "gather_upstream_latency_seconds_count"), n);
  EXPECT_GE(Sample(page->body, "gather_transfers_started_total"), n);
  EXPECT_EQ(Sample(page->body, "gather_transfers_inflight"), 0);
  EXPECT_EQ(page->body.find(kSecret), std::string::npos);

  std::string path = absl::StrCat(dir, "/metrics.txt");
  std::ofstream(path) << page->body;
  RunResult promtool =
      ::gather::testing::Run({"/bin/sh", "-c", "promtool check metrics < " + path});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gather::testing

namespace gather::testing {
namespace {

TEST(ConfigurationE2eTest, EnvironmentVariablesSetFlagsAndTheCommandLineWins) {
  setenv("GATHERD_METRICS_LISTEN", "127.0.0.1:0", 1);
  setenv("GATHERD_LOG_LEVEL", "warning", 1);
  auto quiet = StartGatherd(kBin, {}, /*capture_stderr=*/true);
  auto chatty = StartGatherd(kBin, {"--log_level=info"}, /*capture_stderr=*/true);
  setenv("GATHERD_MAX_INFLIGHT", "many", 1);
  RunResult bad = ::gather::testing::Run({kBin + "/gatherd", "--listen=127.0.0.1:0"});
  unsetenv("GATHERD_METRICS_LISTEN");
  unsetenv("GATHERD_LOG_LEVEL");
  unsetenv("GATHERD_MAX_INFLIGHT");
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  ASSERT_TRUE(chatty.ok()) << chatty.status();
  // --metrics_listen came from the environment; the info line about it only where
  // --log_level=info on the command line overrode GATHERD_LOG_LEVEL=warning.
  EXPECT_TRUE(chatty->process.WaitForStderr("/metrics", absl::Seconds(10)));
  // The plaintext warning comes after the metrics line would have.
  EXPECT_TRUE(quiet->process.WaitForStderr("plaintext", absl::Seconds(10)));
  EXPECT_EQ(quiet->process.stderr_text().find("/metrics"), std::string::npos)
      << quiet->process.stderr_text();
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("GATHERD_MAX_INFLIGHT"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace gather::testing
