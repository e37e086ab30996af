#include "service/observe/log.h"

#include "gather/v1/gather.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace gather::observe {
namespace v1 = ::gather::v1;
namespace {

TEST(LogTest, FormatsOneJsonObjectPerLine) {
  uint64_t counts[v1::JobStatus_ARRAYSIZE] = {};
  counts[v1::JOB_STATUS_OK] = 950;
  counts[v1::JOB_STATUS_HTTP_ERROR] = 3;
  std::string line = FormatLogLine(
      1'790'000'000'123, LogLevel::kWarning, "rpc \"done\"\n",
      {{"method", std::string("BatchLookup")},
       {"keys", int64_t{953}},
       {"wall_ms", 12.5},
       {"tls", true},
       {"peer", std::string("ipv4:127.0.0.1:1\x01")},
       {"statuses", StatusCountsJson(counts, v1::JobStatus_ARRAYSIZE)}});
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the message holds
  nlohmann::json record = nlohmann::json::parse(line);
  EXPECT_EQ(record["ts"], "2026-09-21T14:13:20.123Z");
  EXPECT_EQ(record["level"], "warning");
  EXPECT_EQ(record["msg"], "rpc \"done\"\n");
  EXPECT_EQ(record["method"], "BatchLookup");
  EXPECT_EQ(record["keys"], 953);
  EXPECT_DOUBLE_EQ(record["wall_ms"].get<double>(), 12.5);
  EXPECT_EQ(record["tls"], true);
  EXPECT_EQ(record["peer"], "ipv4:127.0.0.1:1\x01");
  EXPECT_EQ(record["statuses"], nlohmann::json::parse(R"({"OK":950,"HTTP_ERROR":3})"));
}

TEST(LogTest, LevelsFilter) {
  ASSERT_TRUE(ParseLogLevel("warning").ok());
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  SetLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kInfo);
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
}

}  // namespace
}  // namespace gather::observe
