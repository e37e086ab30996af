#include "client/lookup/redo.h"

#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"

namespace gather::client {
namespace {

using ::gather::client::testing::TempDir;

TEST(RedoTest, ParsesStatusNames) {
  auto set = ParseRedoStatuses("HTTP_ERROR, timeout");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE((*set)[v1::JOB_STATUS_HTTP_ERROR]);
  EXPECT_TRUE((*set)[v1::JOB_STATUS_TIMEOUT]);
  EXPECT_FALSE((*set)[v1::JOB_STATUS_MISSING]);
  auto failed = ParseRedoStatuses("failed");
  ASSERT_TRUE(failed.ok());
  EXPECT_TRUE((*failed)[v1::JOB_STATUS_RATE_LIMITED]);
  EXPECT_FALSE((*failed)[v1::JOB_STATUS_OK]);
  EXPECT_FALSE((*failed)[v1::JOB_STATUS_MISSING]);
  EXPECT_TRUE(ParseRedoStatuses("MISSING").ok());  // filtered rows, when asked for by name
  for (const char* bad : {"", "OK", "CANCELLED", "HTTP_EROR", "UNSPECIFIED"}) {
    auto refused = ParseRedoStatuses(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("--redo"), std::string::npos);
  }
}

TEST(RedoTest, ListsTheFailedStatusesOfARun) {
  std::array<uint64_t, v1::JobStatus_ARRAYSIZE> counts{};
  EXPECT_EQ(RedoListOf(counts.data(), v1::JobStatus_ARRAYSIZE), "");
  counts[v1::JOB_STATUS_OK] = 5;
  counts[v1::JOB_STATUS_MISSING] = 2;
  counts[v1::JOB_STATUS_TIMEOUT] = 1;
  counts[v1::JOB_STATUS_HTTP_ERROR] = 3;
  EXPECT_EQ(RedoListOf(counts.data(), v1::JobStatus_ARRAYSIZE), "HTTP_ERROR,TIMEOUT");
}

TEST(RedoTest, DropsTheRowsToRedoFromJsonlAndKeepsTheRest) {
  TempDir dir;
  const std::string rows =
      "{\"seq\":0,\"key\":\"a\",\"status\":\"OK\",\"http_status\":200,\"fields\":{}}\n"
      "{\"seq\":1,\"key\":\"\\\"status\\\":\\\"OK\\\"\",\"status\":\"HTTP_ERROR\","
      "\"http_status\":503}\n"
      "{\"seq\":2,\"key\":{\"q\":\"x\"},\"status\":\"TIMEOUT\",\"http_status\":0}\n"
      "{\"seq\":3,\"key\":\"d\",\"status\":\"MISSING\",\"http_status\":200}\n"
      "{\"seq\":4,\"key\":\"e\",\"sta";  // torn: kept for the resume scan to cut
  dir.Write("out.jsonl", rows);
  auto set = ParseRedoStatuses("HTTP_ERROR,TIMEOUT");
  ASSERT_TRUE(set.ok());
  auto result = DropRowsToRedo(dir.Path("out.jsonl"), OutputFormat::kJsonl, false, *set);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->dropped, 2u);
  EXPECT_EQ(result->kept, 2u);
  EXPECT_EQ(dir.Read("out.jsonl"),
            "{\"seq\":0,\"key\":\"a\",\"status\":\"OK\",\"http_status\":200,\"fields\":{}}\n"
            "{\"seq\":3,\"key\":\"d\",\"status\":\"MISSING\",\"http_status\":200}\n"
            "{\"seq\":4,\"key\":\"e\",\"sta");
  EXPECT_FALSE(dir.Exists("out.jsonl.redo-tmp"));
  // A second pass finds nothing more to drop and leaves the file alone.
  result = DropRowsToRedo(dir.Path("out.jsonl"), OutputFormat::kJsonl, false, *set);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->dropped, 0u);
}

TEST(RedoTest, DropsFromTheCsvErrorsFileAndLeavesTheCsvOutput) {
  TempDir dir;
  const std::string errors =
      "seq,key,status,http_status,attempts,error\n"
      "1,\"a,b\",HTTP_ERROR,503,3,\"HTTP 503, after 3 attempts\"\n"
      "2,c,MISSING,200,1,no /location\n"
      "5,\"multi\nline\",RATE_LIMITED,429,3,x\n";
  dir.Write("res.errors.csv", errors);
  dir.Write("res.csv", "seq,key,label\n0,z,Z\n");
  auto set = ParseRedoStatuses("HTTP_ERROR,RATE_LIMITED");
  ASSERT_TRUE(set.ok());
  auto result = DropRowsToRedo(dir.Path("res.errors.csv"), OutputFormat::kCsv, true, *set);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->dropped, 2u);
  EXPECT_EQ(dir.Read("res.errors.csv"),
            "seq,key,status,http_status,attempts,error\n2,c,MISSING,200,1,no /location\n");
  result = DropRowsToRedo(dir.Path("res.csv"), OutputFormat::kCsv, false, *set);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(dir.Read("res.csv"), "seq,key,label\n0,z,Z\n");
  // A missing file has nothing to drop.
  EXPECT_TRUE(DropRowsToRedo(dir.Path("none.csv"), OutputFormat::kCsv, true, *set).ok());
}

TEST(RedoTest, RefusesAFileThatIsNotGatherOutputAndLeavesIt) {
  TempDir dir;
  dir.Write("notes.jsonl", "{\"seq\":0,\"status\":\"HTTP_ERROR\"}\nhello\n");
  auto set = ParseRedoStatuses("failed");
  ASSERT_TRUE(set.ok());
  auto result = DropRowsToRedo(dir.Path("notes.jsonl"), OutputFormat::kJsonl, false, *set);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("record 2"), std::string::npos);
  EXPECT_EQ(dir.Read("notes.jsonl"), "{\"seq\":0,\"status\":\"HTTP_ERROR\"}\nhello\n");
}

TEST(RedoTest, TheCommandRunsTheSameLookupAgainWithRedo) {
  EXPECT_EQ(RedoCommand({"gather", "lookup", "http://h/{key}?a=1&b=2", "--keys", "ids.txt",
                         "--out", "res.csv", "--resume", "--redo", "TIMEOUT"},
                        "HTTP_ERROR,TIMEOUT"),
            "gather lookup 'http://h/{key}?a=1&b=2' --keys ids.txt --out res.csv --resume "
            "--redo HTTP_ERROR,TIMEOUT");
  EXPECT_EQ(RedoCommand({"gather", "lookup", "--header", "X: it's", "--redo=failed"}, "TIMEOUT"),
            "gather lookup --header 'X: it'\\''s' --resume --redo TIMEOUT");
}

}  // namespace
}  // namespace gather::client
