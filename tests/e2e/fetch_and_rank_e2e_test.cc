// End to end: a netdata-like upstream, a real gatherd process, and the gather CLI.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <memory>
#include <set>
#include <signal.h>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/netdata_fixture.h"
#include "tests/support/process.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;

struct Expected {
  std::string chart;
  double score;
};

std::vector<Expected> ExpectedRanking(const NetdataFixture& fixture, int points) {
  std::vector<Expected> out;
  for (const std::string& chart : fixture.chart_names()) {
    double score = fixture.ExpectedScore(chart, points);
    if (chart == "broken.text" || std::isnan(score)) continue;
    out.push_back({chart, score});
  }
  std::sort(out.begin(), out.end(), [](const Expected& a, const Expected& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.chart < b.chart;
  });
  return out;
}

class FetchAndRankE2eTest : public ::testing::Test {
 protected:
  void StartServer(std::vector<std::string> flags = {"--egress_allow=127.0.0.0/8"},
                   bool capture_stderr = false) {
    auto gatherd = StartGatherd(kBin, std::move(flags), capture_stderr);
    ASSERT_TRUE(gatherd.ok()) << gatherd.status();
    gatherd_.emplace(*std::move(gatherd));
  }
  RunResult Gather(std::vector<std::string> args) {
    std::vector<std::string> argv = {kBin + "/gather", "--server", gatherd_->address};
    argv.insert(argv.end(), args.begin(), args.end());
    return ::gather::testing::Run(argv);
  }
  // The upstream's handlers read the fixture, and gatherd may still be fetching from it when a
  // test body ends: the fixture is a member declared first, so it outlives the upstream (a local
  // fixture died while a handler still read it; TSan caught it).
  NetdataFixture& Netdata(const NetdataFixtureOptions& options) {
    netdata_ = std::make_unique<NetdataFixture>(options);
    return *netdata_;
  }
  std::unique_ptr<NetdataFixture> netdata_;
  TestUpstream upstream_;            // destroyed after gatherd_ (members die in reverse order)
  std::optional<Gatherd> gatherd_;
};

TEST_F(FetchAndRankE2eTest, NetdataRanksChartsExactly) {
  NetdataFixtureOptions options;
  options.charts = 60;
  options.with_broken_charts = true;
  NetdataFixture& fixture = Netdata(options);
  fixture.Install(upstream_);
  upstream_.Start();
  StartServer();

  RunResult run = Gather({"netdata", "--dashboard", upstream_.base_url(), "--top", "15", "--json",
                          "--points", "5"});
  // broken.text is BAD_CONTENT (a failure: exit 1); broken.nulls is MISSING (not a failure).
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("BAD_CONTENT broken.text"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("1 MISSING"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("62 jobs"), std::string::npos) << run.err;

  std::vector<Expected> expected = ExpectedRanking(fixture, 5);
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 15u) << run.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    nlohmann::json line = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(line["rank"], i + 1);
    EXPECT_EQ(line["id"], expected[i].chart) << i;
    EXPECT_NEAR(line["score"].get<double>(), expected[i].score, 1e-9) << expected[i].chart;
    EXPECT_NE(line["link"].get<std::string>().find(upstream_.base_url()), std::string::npos);
  }
}

TEST_F(FetchAndRankE2eTest, TablePrintsRankChartScoreAndLink) {
  NetdataFixtureOptions options;
  options.charts = 25;
  NetdataFixture& fixture = Netdata(options);
  fixture.Install(upstream_);
  upstream_.Start();
  StartServer();

  RunResult run = Gather({"netdata", "--dashboard", upstream_.base_url()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 21u) << run.out;  // header + the default top 20
  EXPECT_NE(lines[0].find("rank"), std::string::npos);
  EXPECT_NE(lines[0].find("chart"), std::string::npos);
  EXPECT_NE(lines[0].find("score"), std::string::npos);
  std::vector<Expected> expected = ExpectedRanking(fixture, 5);
  for (size_t i = 0; i < 20; ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i + 1], ' ', absl::SkipEmpty());
    ASSERT_EQ(cells.size(), 4u) << lines[i + 1];
    EXPECT_EQ(cells[0], std::to_string(i + 1));
    EXPECT_EQ(cells[1], expected[i].chart);
    char want[64];
    std::snprintf(want, sizeof(want), "%.2f", expected[i].score);
    EXPECT_EQ(cells[2], want);
    EXPECT_EQ(cells[3].rfind(upstream_.base_url() + "/#menu_", 0), 0u) << cells[3];
  }
}

TEST_F(FetchAndRankE2eTest, FetchesConcurrentlyUnderTheRpcCap) {
  NetdataFixtureOptions options;
  options.charts = 200;
  options.delay = absl::Milliseconds(50);
  NetdataFixture& fixture = Netdata(options);
  fixture.Install(upstream_);
  upstream_.Start();
  StartServer();

  absl::Time start = absl::Now();
  RunResult run = Gather({"netdata", "--dashboard", upstream_.base_url(), "--concurrency", "50",
                          "--json", "--top", "0"});
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 200);
  EXPECT_LE(upstream_.max_in_flight(), 50);
  // The cap was used (under a sanitizer the slowed server and upstream overlap less of each
  // 50 ms request, but far more than one at a time).
  EXPECT_GE(upstream_.max_in_flight(), kUnderSanitizer ? 20 : 40);
  // Serially this is 200 x 50 ms = 10 s; four waves of 50 take ~0.2 s plus start-up.
  EXPECT_LT(took, SlackBelow(absl::Seconds(4), absl::Seconds(9)));
}

TEST_F(FetchAndRankE2eTest, DeadlineEndsSlowJobsWithTimeoutRows) {
  if (kUnderThreadSanitizer) {
    GTEST_SKIP() << "gatherd ends jobs 250 ms before the RPC deadline to send their rows; "
                    "ThreadSanitizer slows gatherd and the CLI past that margin";
  }
  NetdataFixtureOptions options;
  options.charts = 10;
  options.delay = absl::Seconds(10);
  NetdataFixture& fixture = Netdata(options);
  fixture.Install(upstream_);
  upstream_.Start();
  StartServer();

  absl::Time start = absl::Now();
  // The deadline (1 s, longer under a sanitizer) ends every 10 s fetch well before it answers.
  RunResult run = Gather({"netdata", "--dashboard", upstream_.base_url(), "--deadline",
                          absl::StrCat(absl::ToDoubleSeconds(Slack(absl::Seconds(1))))});
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("10 TIMEOUT"), std::string::npos) << run.err;
  EXPECT_LT(took, SlackBelow(absl::Seconds(3), absl::Seconds(9)));
}

// SIGTERM: health turns NOT_SERVING at once and new calls are refused UNAVAILABLE; a running
// call keeps its jobs for most of the grace, then the ones still fetching end CANCELLED, each
// with its row, the ranking follows and the call ends OK; gatherd exits 0 within the grace.
TEST_F(FetchAndRankE2eTest, SigtermRefusesNewCallsThenCancelsWhatOutlivesTheGrace) {
  const absl::Duration grace = Slack(absl::Seconds(1));
  upstream_.Get(R"(/fast/(\d+))", [](const httplib::Request& request, httplib::Response& response) {
    response.set_content(absl::StrCat("{\"v\":", request.matches[1].str(), "}"),
                         "application/json");
  });
  std::mutex slow_mu;
  std::condition_variable slow_cv;
  int slow_started = 0;
  upstream_.Get(R"(/slow/(\d+))", [&, this](const httplib::Request&, httplib::Response& response) {
    {
      // Notified under the lock: the test body (which owns the condition variable) cannot go
      // on, and end, before this handler is done with it.
      std::lock_guard<std::mutex> lock(slow_mu);
      ++slow_started;
      slow_cv.notify_all();
    }
    upstream_.Delay(absl::Seconds(60));  // returns early when the test stops the upstream
    response.set_content("{\"v\":0}", "application/json");
  });
  upstream_.Start();
  StartServer({"--egress_allow=127.0.0.0/8",
               absl::StrCat("--shutdown_grace=", absl::ToDoubleSeconds(grace))},
              /*capture_stderr=*/true);
  auto channel = grpc::CreateChannel(gatherd_->address, grpc::InsecureChannelCredentials());
  auto stub = v1::Gather::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);

  constexpr int kFast = 5;
  constexpr int kSlow = 5;
  auto make_request = [&] {
    v1::FetchAndRankRequest request;
    for (int i = 0; i < kFast; ++i) {
      v1::Job* job = request.add_jobs();
      job->set_id(absl::StrCat("fast", i));
      job->set_url(absl::StrCat(upstream_.base_url(), "/fast/", i + 1));
    }
    for (int i = 0; i < kSlow; ++i) {
      v1::Job* job = request.add_jobs();
      job->set_id(absl::StrCat("slow", i));
      job->set_url(absl::StrCat(upstream_.base_url(), "/slow/", i));
    }
    request.mutable_score()->set_values_pointer("/v");
    request.mutable_score()->set_row_reducer(v1::REDUCER_MEAN);
    request.mutable_score()->set_across_reducer(v1::REDUCER_MEAN);
    return request;
  };
  grpc::ClientContext context;
  auto reader = stub->FetchAndRank(&context, make_request());
  std::map<std::string, v1::JobStatus> rows;
  v1::FetchAndRankResponse response;
  while (static_cast<int>(rows.size()) < kFast && reader->Read(&response)) {
    if (response.has_result()) rows[response.result().id()] = response.result().status();
  }
  ASSERT_EQ(rows.size(), static_cast<size_t>(kFast));
  {
    // The slow jobs are being fetched.
    std::unique_lock<std::mutex> lock(slow_mu);
    ASSERT_TRUE(slow_cv.wait_for(lock, std::chrono::seconds(10),
                                 [&] { return slow_started == kSlow; }));
  }

  const absl::Time sigterm = absl::Now();
  ASSERT_EQ(kill(gatherd_->process.pid(), SIGTERM), 0);
  // Health says NOT_SERVING well inside the grace (gatherd polls no clock for this: the signal
  // wakes it).
  grpc::health::v1::HealthCheckResponse::ServingStatus serving =
      grpc::health::v1::HealthCheckResponse::SERVING;
  while (serving == grpc::health::v1::HealthCheckResponse::SERVING &&
         absl::Now() - sigterm < grace) {
    grpc::ClientContext health_context;
    grpc::health::v1::HealthCheckRequest check;
    grpc::health::v1::HealthCheckResponse answer;
    ASSERT_TRUE(health->Check(&health_context, check, &answer).ok());
    serving = answer.status();
  }
  EXPECT_EQ(serving, grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  {
    grpc::ClientContext refused_context;
    auto refused = stub->FetchAndRank(&refused_context, make_request());
    v1::FetchAndRankResponse ignored;
    while (refused->Read(&ignored)) {
    }
    grpc::Status status = refused->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }

  // The running call: the slow jobs end CANCELLED after the grace, then the ranking.
  bool ranked = false;
  while (reader->Read(&response)) {
    if (response.has_result()) {
      EXPECT_TRUE(rows.emplace(response.result().id(), response.result().status()).second)
          << response.result().id() << " twice";
    } else if (response.has_summary()) {
      ranked = true;
      EXPECT_EQ(response.summary().ranking_size(), kFast);
    }
  }
  grpc::Status status = reader->Finish();
  const absl::Duration ended_after = absl::Now() - sigterm;
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(ranked);
  ASSERT_EQ(rows.size(), static_cast<size_t>(kFast + kSlow));
  for (const auto& [id, job_status] : rows) {
    EXPECT_EQ(job_status, absl::StartsWith(id, "fast") ? v1::JOB_STATUS_OK
                                                       : v1::JOB_STATUS_CANCELLED)
        << id;
  }
  // Calls run for the first three quarters of the grace; the last is for the CANCELLED rows.
  EXPECT_GE(ended_after, grace * 3 / 4) << "the slow jobs were cancelled too early";
  EXPECT_EQ(gatherd_->process.Wait(), 0);
  EXPECT_LT(absl::Now() - sigterm, grace + Slack(absl::Milliseconds(500)))
      << "gatherd must be gone within its grace";
  EXPECT_NE(gatherd_->process.stderr_text().find("grace over"), std::string::npos);
}

TEST_F(FetchAndRankE2eTest, InvalidRequestsNameTheField) {
  upstream_.Start();
  StartServer();
  std::string url = upstream_.base_url() + "/x";

  RunResult bad_pointer = Gather({"rank", "--pointer", "data", url});
  EXPECT_EQ(bad_pointer.exit_code, 2);
  EXPECT_NE(bad_pointer.err.find("score.values_pointer"), std::string::npos) << bad_pointer.err;

  RunResult bad_url = Gather({"rank", "--pointer", "/data", url, "ftp://example/x"});
  EXPECT_EQ(bad_url.exit_code, 2);
  EXPECT_NE(bad_url.err.find("jobs[1].url"), std::string::npos) << bad_url.err;

  RunResult bad_template = Gather({"rank", "--pointer", "/data", "--index", url, "--keys", "/k",
                                   "--template", "http://{key}.example/x"});
  EXPECT_EQ(bad_template.exit_code, 2);
  EXPECT_NE(bad_template.err.find("discovery.url_template"), std::string::npos) << bad_template.err;

  RunResult bad_reducer = Gather({"rank", "--pointer", "/data", "--row", "median", url});
  EXPECT_EQ(bad_reducer.exit_code, 2);
  EXPECT_NE(bad_reducer.err.find("median"), std::string::npos) << bad_reducer.err;

  RunResult no_jobs = Gather({"rank", "--pointer", "/data"});
  EXPECT_EQ(no_jobs.exit_code, 2);
}

TEST_F(FetchAndRankE2eTest, LoopbackIsDeniedWithoutAnAllowFlag) {
  upstream_.Get("/v", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("{\"v\":1}", "application/json");
  });
  upstream_.Start();
  StartServer({});  // default egress policy
  RunResult run = Gather({"rank", "--pointer", "/v", upstream_.base_url() + "/v"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("BLOCKED"), std::string::npos) << run.err;
  EXPECT_EQ(upstream_.requests(), 0);
}

TEST_F(FetchAndRankE2eTest, HealthAndUnreachableServer) {
  StartServer();
  RunResult health = Gather({"health"});
  EXPECT_EQ(health.exit_code, 0) << health.err;
  EXPECT_EQ(health.out, "SERVING\n");

  RunResult unreachable = ::gather::testing::Run({kBin + "/gather", "--server", "127.0.0.1:1", "rank", "--pointer",
                               "/v", "http://127.0.0.1:2/v"});
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.err;
}


TEST_F(FetchAndRankE2eTest, DiscoveryFromAnArrayEncodesKeys) {
  upstream_.Get("/index", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"items":["a","b c",7,""]})", "application/json");
  });
  upstream_.Get(R"(/v/(.*))", [](const httplib::Request& request, httplib::Response& response) {
    // The server decodes the path: "b%20c" arrives as "b c".
    std::string key = request.matches[1];
    double value = key == "a" ? 1 : key == "b c" ? 3 : key == "7" ? 2 : -1;
    response.set_content(absl::StrCat(R"({"v":)", value, "}"), "application/json");
  });
  upstream_.Start();
  StartServer();
  RunResult run = Gather({"rank", "--pointer", "/v", "--index", upstream_.base_url() + "/index",
                          "--keys", "/items", "--template", upstream_.base_url() + "/v/{key}",
                          "--top", "0", "--json"});
  // The empty key is INVALID_KEY (a failure, exit 1); the other three are ranked.
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("INVALID_KEY"), std::string::npos) << run.err;
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_EQ(nlohmann::json::parse(lines[0])["id"], "b c");
  EXPECT_EQ(nlohmann::json::parse(lines[0])["url"], upstream_.base_url() + "/v/b%20c");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["id"], "7");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["id"], "a");
  EXPECT_EQ(upstream_.requests(), 4);  // the index and three keys; the empty key was not fetched
}

TEST_F(FetchAndRankE2eTest, UnreachableIndexFailsTheCall) {
  upstream_.Start();
  StartServer();
  RunResult run = Gather({"rank", "--pointer", "/v", "--index", upstream_.base_url() + "/nope",
                          "--keys", "/items", "--template", upstream_.base_url() + "/v/{key}"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("discovery.index_url: fetching the index " + upstream_.base_url() +
                         "/nope failed: HTTP_ERROR (HTTP 404)"),
            std::string::npos)
      << run.err;
  EXPECT_EQ(run.err.find("cannot reach gatherd"), std::string::npos) << run.err;
}

TEST_F(FetchAndRankE2eTest, NetdataTakesTheDashboardUrlAsCopied) {
  NetdataFixtureOptions options;
  options.charts = 30;
  NetdataFixture& fixture = Netdata(options);
  fixture.Install(upstream_);
  upstream_.Start();
  StartServer();
  const std::string url = upstream_.base_url() +
                          "/#menu_system_submenu_cpu;after=-1800000;before=-60000;theme=slate";
  RunResult run = Gather({"netdata", url, "--top", "0", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Every data request asked for the URL's window, in seconds.
  EXPECT_EQ(fixture.windows(), (std::set<std::string>{"after=-1800&before=-60"}));
  std::vector<Expected> expected = ExpectedRanking(fixture, 5);
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    nlohmann::json line = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(line["id"], expected[i].chart);
    const std::string& chart = expected[i].chart;
    std::string type = chart.substr(0, chart.find('.'));
    std::string family = chart.substr(chart.find('.') + 1);
    EXPECT_EQ(line["link"], absl::StrCat(upstream_.base_url(), "/#menu_", type, "_submenu_",
                                         family, ";after=-1800000;before=-60000"));
  }
}

TEST_F(FetchAndRankE2eTest, NetdataNamesAFailedIndexAndItsStatus) {
  upstream_.Start();  // no /api/v1/charts: 404
  StartServer();
  RunResult run = Gather({"netdata", upstream_.base_url() + "/#menu_system;after=-600000"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find(upstream_.base_url() + "/api/v1/charts"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("HTTP 404"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("cannot reach gatherd"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace gather::testing
