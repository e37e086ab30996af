#include "client/lookup/row_format.h"

#include "client/output/progress.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace gather::client {
namespace {

TEST(RowFormatTest, JsonlOkRowKeepsValuesAsTheyCame) {
  v1::LookupResult row;
  row.set_seq(41);
  row.set_key("42\"x");
  row.set_status(v1::JOB_STATUS_OK);
  row.set_http_status(200);
  row.add_values("\"Berlin\"");
  row.add_values("18446744073709551615");
  row.add_values("");  // absent
  row.set_attempts(1);
  row.set_latency_ms(3.14159);
  std::string out;
  AppendJsonlRow(row, {"city", "big", "gone"}, out);
  ASSERT_EQ(out.back(), '\n');
  EXPECT_EQ(out.rfind("{\"seq\":41,\"key\":\"42\\\"x\",\"status\":\"OK\",\"http_status\":200,", 0), 0u)
      << out;
  EXPECT_NE(out.find("\"big\":18446744073709551615"), std::string::npos);
  auto json = nlohmann::json::parse(out);
  EXPECT_EQ(json["fields"]["city"], "Berlin");
  EXPECT_TRUE(json["fields"]["gone"].is_null());
  EXPECT_EQ(json["latency_ms"], 3.14);
  EXPECT_FALSE(json.contains("error"));
}

TEST(RowFormatTest, JsonlFailedRowCarriesErrorAndNoFields) {
  v1::LookupResult row;
  row.set_seq(1);
  row.set_key("k");
  row.set_status(v1::JOB_STATUS_HTTP_ERROR);
  row.set_http_status(404);
  row.set_error("HTTP 404");
  std::string out;
  AppendJsonlRow(row, {"f"}, out);
  auto json = nlohmann::json::parse(out);
  EXPECT_EQ(json["status"], "HTTP_ERROR");
  EXPECT_EQ(json["error"], "HTTP 404");
  EXPECT_FALSE(json.contains("fields"));
}

TEST(RowFormatTest, CsvRowsAndErrorRows) {
  v1::LookupResult row;
  row.set_seq(7);
  row.set_key("a,b");
  row.set_status(v1::JOB_STATUS_OK);
  row.add_values("\"Zürich\"");
  row.add_values("null");
  std::string out;
  AppendCsvHeader({"city", "zip"}, out);
  AppendCsvRow(row, 2, out);
  EXPECT_EQ(out, "seq,key,city,zip\n7,\"a,b\",Zürich,\n");
  row.set_status(v1::JOB_STATUS_TIMEOUT);
  row.set_error("timed out after 10s");
  out.clear();
  AppendCsvErrorRow(row, out);
  EXPECT_EQ(out, "7,\"a,b\",TIMEOUT,0,0,timed out after 10s\n");
}

TEST(RowFormatTest, PagedRowsSayTheirPageItemAndWhetherMoreFollow) {
  v1::LookupResult row;
  row.set_seq(7);
  row.set_key("k");
  row.set_status(v1::JOB_STATUS_OK);
  row.set_http_status(200);
  row.add_values("\"a\"");
  row.set_page(2);
  row.set_item(0);
  row.set_more(true);
  std::string out;
  AppendJsonlRow(row, {"id"}, out);
  EXPECT_EQ(out.rfind("{\"seq\":7,\"page\":2,\"item\":0,\"more\":true,\"key\":\"k\",", 0), 0u)
      << out;
  row.set_more(false);
  row.set_pages_cut(true);
  out.clear();
  AppendJsonlRow(row, {"id"}, out);
  EXPECT_EQ(out.find("more"), std::string::npos) << out;
  EXPECT_NE(out.find(",\"pages_cut\":true"), std::string::npos) << out;

  KeyLayout paged;
  paged.paged = true;
  out.clear();
  AppendCsvHeader({"id"}, out, paged);
  EXPECT_EQ(out, "seq,key,page,item,id\n");
  out.clear();
  AppendCsvRow(row, 1, out, paged);
  EXPECT_EQ(out, "7,k,2,0,a\n");
  row.clear_item();  // a key whose pages held no item
  out.clear();
  AppendCsvRow(row, 1, out, paged);
  EXPECT_EQ(out, "7,k,2,,a\n");
}

TEST(ProgressTest, Format) {
  EXPECT_EQ(FormatProgress(1234, 10000, 100, 3), "1,234/10,000 12.3% 100/s ETA 0:01:28 failed 3");
  EXPECT_EQ(FormatProgress(5, std::nullopt, 2.4, 0), "5 2/s failed 0");
}

TEST(RowFormatTest, JsonlRowStaysOneLineForPrettyPrintedValues) {
  // Found by fuzz_json_extract: objects and arrays arrive as the upstream wrote them, line breaks
  // included, which split the row over several lines (and made --resume refuse the file).
  v1::LookupResult row;
  row.set_seq(3);
  row.set_key("k");
  row.set_status(v1::JOB_STATUS_OK);
  row.add_values("{\n  \"a\": [1,\r\n 2]\n}");
  std::string out;
  AppendJsonlRow(row, {"obj"}, out);
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  auto json = nlohmann::json::parse(out);
  EXPECT_EQ(json["fields"]["obj"]["a"][1], 2);
}

}  // namespace
}  // namespace gather::client
