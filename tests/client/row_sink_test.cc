#include "client/lookup/row_sink.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/io/output_file.h"
#include "client/io/text.h"
#include "client/output/progress.h"
#include "gtest/gtest.h"
#include "tests/client/temp_dir.h"

namespace gather::client {
namespace {

using testing::TempDir;

v1::LookupResult Row(uint64_t seq, const std::string& key, v1::JobStatus status) {
  v1::LookupResult row;
  row.set_seq(seq);
  row.set_key(key);
  row.set_status(status);
  if (status == v1::JOB_STATUS_OK) {
    row.set_http_status(200);
    row.add_values("\"Berlin\"");
  } else if (status == v1::JOB_STATUS_HTTP_ERROR) {
    row.set_http_status(404);
    row.set_error("HTTP 404");
  }
  row.set_attempts(1);
  return row;
}

google::protobuf::RepeatedPtrField<v1::LookupResult> Rows(
    std::initializer_list<v1::LookupResult> rows) {
  google::protobuf::RepeatedPtrField<v1::LookupResult> out;
  for (const v1::LookupResult& row : rows) *out.Add() = row;
  return out;
}

// A sink over files in a temp dir, with the progress line off.
class RowSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }

  TempDir dir_;
  const std::vector<std::string> field_names_{"city"};
  Progress progress_{/*enabled=*/false, /*terminal=*/false, std::nullopt, 0, absl::Now()};
};

TEST_F(RowSinkTest, JsonlRowsAllGoToOutWithoutAnErrorsFile) {
  OutputFile out(dir_.Path("out.jsonl"), /*append=*/false);
  RowSink sink(OutputFormat::kJsonl, /*quiet=*/false, field_names_, out, nullptr, progress_);
  EXPECT_TRUE(sink.Write(Rows({Row(0, "a", v1::JOB_STATUS_OK),
                               Row(1, "b", v1::JOB_STATUS_HTTP_ERROR)}),
                         0, "server-a:1"));
  sink.Flush(absl::Now(), /*force=*/true);
  ASSERT_TRUE(sink.write_error().ok()) << sink.write_error();

  std::string expected;
  AppendJsonlRow(Row(0, "a", v1::JOB_STATUS_OK), field_names_, expected);
  AppendJsonlRow(Row(1, "b", v1::JOB_STATUS_HTTP_ERROR), field_names_, expected);
  EXPECT_EQ(dir_.Read("out.jsonl"), expected);
  EXPECT_EQ(sink.rows(), 2u);
  EXPECT_EQ(sink.failed(), 1u);
  EXPECT_EQ(sink.counts()[v1::JOB_STATUS_OK], 1u);
  EXPECT_EQ(sink.counts()[v1::JOB_STATUS_HTTP_ERROR], 1u);
}

// Paged calls: a key's rows (all but the last with `more`) may span messages; they are written
// together once the last came, and a stream that ends inside a key drops the key's rows.
TEST_F(RowSinkTest, AKeysRowsAreWrittenTogetherOnceItsLastRowCame) {
  OutputFile out(dir_.Path("out.jsonl"), false);
  RowSink sink(OutputFormat::kJsonl, false, field_names_, out, nullptr, progress_);
  auto item = [](uint64_t seq, uint32_t i, bool more) {
    v1::LookupResult row = Row(seq, absl::StrCat("k", seq), v1::JOB_STATUS_OK);
    row.set_page(1);
    row.set_item(i);
    row.set_more(more);
    return row;
  };
  sink.Write(Rows({item(4, 0, true), item(4, 1, true)}), 0, "s:1");
  EXPECT_FALSE(sink.Written(4));
  sink.Write(Rows({item(4, 2, false), item(6, 0, true)}), 0, "s:1");
  EXPECT_TRUE(sink.Written(4));
  sink.EndStream(0);  // key 6's last row never came: asked again on the next stream
  EXPECT_FALSE(sink.Written(6));
  sink.Write(Rows({item(6, 0, true), item(6, 1, false)}), 0, "s:2");
  sink.Flush(absl::Now(), true);

  std::string expected;
  for (const v1::LookupResult& row :
       {item(4, 0, true), item(4, 1, true), item(4, 2, false), item(6, 0, true), item(6, 1, false)}) {
    AppendJsonlRow(row, field_names_, expected);
  }
  EXPECT_EQ(dir_.Read("out.jsonl"), expected);
  EXPECT_EQ(sink.rows(), 2u);  // keys
  EXPECT_EQ(sink.written_rows(), 5u);
  EXPECT_EQ(sink.counts()[v1::JOB_STATUS_OK], 2u);
}

TEST_F(RowSinkTest, JsonlFailuresGoToTheErrorsFileWhenGiven) {
  OutputFile out(dir_.Path("out.jsonl"), false);
  OutputFile errors(dir_.Path("errors.jsonl"), false);
  RowSink sink(OutputFormat::kJsonl, false, field_names_, out, &errors, progress_);
  sink.Write(Rows({Row(0, "a", v1::JOB_STATUS_OK), Row(1, "b", v1::JOB_STATUS_HTTP_ERROR),
                   Row(2, "c", v1::JOB_STATUS_MISSING)}),
             0, "s:1");
  sink.Flush(absl::Now(), true);

  std::string ok_rows;
  AppendJsonlRow(Row(0, "a", v1::JOB_STATUS_OK), field_names_, ok_rows);
  std::string error_rows;
  AppendJsonlRow(Row(1, "b", v1::JOB_STATUS_HTTP_ERROR), field_names_, error_rows);
  AppendJsonlRow(Row(2, "c", v1::JOB_STATUS_MISSING), field_names_, error_rows);
  EXPECT_EQ(dir_.Read("out.jsonl"), ok_rows);
  EXPECT_EQ(dir_.Read("errors.jsonl"), error_rows);
  EXPECT_EQ(sink.failed(), 1u);  // MISSING counts as success
}

TEST_F(RowSinkTest, CsvOkRowsToOutTheOthersToErrors) {
  OutputFile out(dir_.Path("out.csv"), false);
  OutputFile errors(dir_.Path("out.errors.csv"), false);
  AppendCsvHeader(field_names_, out.buffer());
  AppendCsvErrorHeader(errors.buffer());
  RowSink sink(OutputFormat::kCsv, false, field_names_, out, &errors, progress_);
  sink.Write(Rows({Row(0, "a", v1::JOB_STATUS_OK), Row(1, "b", v1::JOB_STATUS_HTTP_ERROR)}), 0,
             "s:1");
  sink.Flush(absl::Now(), true);
  EXPECT_EQ(dir_.Read("out.csv"), "seq,key,city\n0,a,Berlin\n");
  EXPECT_EQ(dir_.Read("out.errors.csv"),
            "seq,key,status,http_status,attempts,error\n1,b,HTTP_ERROR,404,1,HTTP 404\n");
}

TEST_F(RowSinkTest, CsvWithoutAnErrorsFileReportsFailuresOnStderr) {
  OutputFile out(dir_.Path("out.csv"), false);
  RowSink sink(OutputFormat::kCsv, /*quiet=*/false, field_names_, out, nullptr, progress_);
  ::testing::internal::CaptureStderr();
  sink.Write(Rows({Row(0, "a", v1::JOB_STATUS_OK), Row(1, "b", v1::JOB_STATUS_HTTP_ERROR),
                   Row(2, "c", v1::JOB_STATUS_MISSING)}),
             0, "s:1");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "gather lookup: seq 1: HTTP_ERROR: HTTP 404\ngather lookup: seq 2: MISSING\n");

  OutputFile quiet_out(dir_.Path("quiet.csv"), false);
  RowSink quiet(OutputFormat::kCsv, /*quiet=*/true, field_names_, quiet_out, nullptr, progress_);
  ::testing::internal::CaptureStderr();
  quiet.Write(Rows({Row(1, "b", v1::JOB_STATUS_HTTP_ERROR), Row(2, "c", v1::JOB_STATUS_MISSING)}),
              0, "s:1");
  // --quiet: only what failed.
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "gather lookup: seq 1: HTTP_ERROR: HTTP 404\n");
}

TEST_F(RowSinkTest, EachSeqIsWrittenOnceAndCancelledRowsAreNotFinal) {
  OutputFile out(dir_.Path("out.jsonl"), false);
  RowSink sink(OutputFormat::kJsonl, false, field_names_, out, nullptr, progress_);
  sink.Write(Rows({Row(0, "a", v1::JOB_STATUS_OK), Row(1, "b", v1::JOB_STATUS_CANCELLED)}), 0,
             "s:1");
  EXPECT_TRUE(sink.Written(0));
  EXPECT_FALSE(sink.Written(1));
  // Another attempt (on another server) sends seq 0 again and finally seq 1.
  sink.Write(Rows({Row(0, "a", v1::JOB_STATUS_OK), Row(1, "b", v1::JOB_STATUS_OK)}), 0, "s:2");
  sink.Flush(absl::Now(), true);

  std::string expected;
  AppendJsonlRow(Row(0, "a", v1::JOB_STATUS_OK), field_names_, expected);
  AppendJsonlRow(Row(1, "b", v1::JOB_STATUS_OK), field_names_, expected);
  EXPECT_EQ(dir_.Read("out.jsonl"), expected);
  EXPECT_EQ(sink.rows(), 2u);
  EXPECT_EQ(sink.duplicates(), 1u);
  EXPECT_EQ(sink.cancelled(), 1u);
  EXPECT_EQ(sink.shard_rows(0), 2u);
  EXPECT_EQ(sink.rows_by_server(), (std::map<std::string, uint64_t>{{"s:1", 1}, {"s:2", 1}}));
}

TEST_F(RowSinkTest, LocalRowsAreInvalidKeysCountedForTheirShardButNoServer) {
  OutputFile out(dir_.Path("out.jsonl"), false);
  RowSink sink(OutputFormat::kJsonl, false, field_names_, out, nullptr, progress_);
  sink.WriteLocal(4, "bad\xff", "key is not valid UTF-8", /*shard=*/2);
  sink.Flush(absl::Now(), true);

  v1::LookupResult row;
  row.set_seq(4);
  row.set_key(SanitizeUtf8("bad\xff"));
  row.set_status(v1::JOB_STATUS_INVALID_KEY);
  row.set_error("key is not valid UTF-8");
  std::string expected;
  AppendJsonlRow(row, field_names_, expected);
  EXPECT_EQ(dir_.Read("out.jsonl"), expected);
  EXPECT_TRUE(sink.Written(4));
  EXPECT_EQ(sink.shard_rows(2), 1u);
  EXPECT_EQ(sink.shard_rows(0), 0u);
  EXPECT_EQ(sink.shard_rows(9), 0u);
  EXPECT_TRUE(sink.rows_by_server().empty());
  EXPECT_EQ(sink.counts()[v1::JOB_STATUS_INVALID_KEY], 1u);
  EXPECT_EQ(sink.failed(), 1u);
}

TEST_F(RowSinkTest, AnOutputThatCannotBeWrittenStopsTheRun) {
  OutputFile out(dir_.Path("no/such/dir/out.jsonl"), false);
  RowSink sink(OutputFormat::kJsonl, false, field_names_, out, nullptr, progress_);
  EXPECT_FALSE(sink.Write(Rows({Row(0, "a", v1::JOB_STATUS_OK)}), 0, "s:1"));
  EXPECT_FALSE(sink.write_error().ok());
  EXPECT_NE(sink.write_error().message().find("no/such/dir/out.jsonl"), std::string::npos);
  // The first error stays.
  sink.Flush(absl::Now(), true);
  EXPECT_FALSE(sink.write_error().ok());
}

}  // namespace
}  // namespace gather::client
