#include "client/lookup/resume.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "client/lookup/key_source.h"
#include "client/lookup/row_format.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace gather::client {
namespace {

class TempPath {
 public:
  TempPath() {
    char name[] = "/tmp/gather_resume_XXXXXX";
    int fd = mkstemp(name);
    close(fd);
    path_ = name;
  }
  ~TempPath() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  void Write(const std::string& content) const { std::ofstream(path_, std::ios::binary) << content; }
  std::string Read() const {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string path_;
};

v1::LookupResult Row(uint64_t seq, const std::string& key, v1::JobStatus status) {
  v1::LookupResult row;
  row.set_seq(seq);
  row.set_key(key);
  row.set_status(status);
  row.set_http_status(status == v1::JOB_STATUS_OK ? 200 : 404);
  row.add_values("\"a\\nb\"");
  row.set_attempts(1);
  if (status != v1::JOB_STATUS_OK) row.set_error("HTTP 404");
  return row;
}

TEST(SeqBitmapTest, SetTestCount) {
  SeqBitmap bitmap;
  EXPECT_FALSE(bitmap.Test(5));
  EXPECT_TRUE(bitmap.Set(5));
  EXPECT_FALSE(bitmap.Set(5));
  EXPECT_TRUE(bitmap.Set(1'000'000));
  EXPECT_TRUE(bitmap.Test(5));
  EXPECT_TRUE(bitmap.Test(1'000'000));
  EXPECT_FALSE(bitmap.Test(999'999));
  EXPECT_EQ(bitmap.count(), 2u);
}

TEST(ResumeTest, JsonlScanMarksSeqsAndCutsATornLastLine) {
  std::vector<std::string> names{"f"};
  std::string content;
  AppendJsonlRow(Row(0, "k0", v1::JOB_STATUS_OK), names, content);
  AppendJsonlRow(Row(7, "k7", v1::JOB_STATUS_HTTP_ERROR), names, content);
  std::string complete = content;
  content += "{\"seq\":9,\"key\":\"k9\",\"sta";  // killed mid-write
  TempPath file;
  file.Write(content);

  SeqBitmap done;
  auto scan = ScanOutput(file.path(), OutputFormat::kJsonl, {}, done);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->rows, 2u);
  EXPECT_EQ(scan->torn_bytes, content.size() - complete.size());
  EXPECT_TRUE(done.Test(0));
  EXPECT_TRUE(done.Test(7));
  EXPECT_FALSE(done.Test(9));
  EXPECT_EQ(file.Read(), complete);
}

TEST(ResumeTest, CsvScanChecksTheHeaderAndHandlesQuotedNewlines) {
  std::vector<std::string> names{"f"};
  std::string content;
  AppendCsvHeader(names, content);
  AppendCsvRow(Row(3, "k,3", v1::JOB_STATUS_OK), 1, content);  // value holds a newline
  std::string complete = content;
  content += "4,k4,\"half a quoted";
  TempPath file;
  file.Write(content);

  SeqBitmap done;
  auto wrong = ScanOutput(file.path(), OutputFormat::kCsv, {"seq", "key", "other"}, done, true);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(file.Read(), content);  // untouched

  auto scan = ScanOutput(file.path(), OutputFormat::kCsv, {"seq", "key", "f"}, done);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_TRUE(scan->has_header);
  EXPECT_EQ(scan->rows, 1u);
  EXPECT_TRUE(done.Test(3));
  EXPECT_FALSE(done.Test(4));
  EXPECT_EQ(file.Read(), complete);
}

// Paged output: a key's rows one after the other; the last key may have been cut inside its
// rows, so it is cut whole and fetched again.
TEST(ResumeTest, PagedScanCutsTheLastKeyWhole) {
  std::vector<std::string> names{"f"};
  std::string content;
  auto paged = [&](uint64_t seq, uint32_t page, uint32_t item, bool more) {
    v1::LookupResult row = Row(seq, absl::StrCat("k", seq), v1::JOB_STATUS_OK);
    row.set_page(page);
    row.set_item(item);
    row.set_more(more);
    AppendJsonlRow(row, names, content);
  };
  paged(3, 1, 0, true);
  paged(3, 1, 1, true);
  paged(3, 2, 0, false);
  paged(1, 1, 0, false);
  const std::string complete = content;
  paged(5, 1, 0, true);  // the kill came after this row of key 5
  content += "{\"seq\":5,\"page\":1,\"it";
  TempPath file;
  file.Write(content);

  SeqBitmap done;
  auto scan = ScanOutput(file.path(), OutputFormat::kJsonl, {}, done, /*dry_run=*/false,
                         /*keys_whole=*/true);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->rows, 4u);
  EXPECT_EQ(scan->duplicates, 0u);
  EXPECT_TRUE(done.Test(3));
  EXPECT_TRUE(done.Test(1));   // key 5's rows came after it: it was written whole
  EXPECT_FALSE(done.Test(5));  // the last key in the file: cut with its torn row
  EXPECT_EQ(file.Read(), complete);
  EXPECT_EQ(done.count(), 2u);

  // Scanned again: now key 1 is last, and it goes too (it may have been cut after its row).
  SeqBitmap again;
  scan = ScanOutput(file.path(), OutputFormat::kJsonl, {}, again, false, true);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_TRUE(again.Test(3));
  EXPECT_FALSE(again.Test(1));
  EXPECT_EQ(file.Read(), complete.substr(0, complete.find("{\"seq\":1,")));
}

TEST(ResumeTest, ForeignFileIsRefusedAndLeftAlone) {
  TempPath file;
  file.Write("this is not gather output\n{\"seq\":1,");
  SeqBitmap done;
  auto scan = ScanOutput(file.path(), OutputFormat::kJsonl, {}, done);
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(file.Read(), "this is not gather output\n{\"seq\":1,");
}

TEST(ResumeTest, MissingFileScansAsEmpty) {
  SeqBitmap done;
  auto scan = ScanOutput("/tmp/gather_resume_does_not_exist", OutputFormat::kJsonl, {}, done);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->rows, 0u);
}

TEST(KeySourceTest, CsvColumnAndMissingColumn) {
  TempPath file;
  file.Write("\xEF\xBB\xBFname,id\nx,1\n\"y,z\",\"2\"\nshort\n");
  auto source = KeySource::Open(file.path(), std::string("id"));
  ASSERT_TRUE(source.ok()) << source.status();
  KeyRow row;
  std::vector<std::string> keys;
  while ((*source)->Next(row)) keys.push_back(row.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"1", "2", ""}));
  EXPECT_EQ(KeySource::Count(KeysInput{file.path(), KeysFormat::kCsv, std::string("id")}), 3u);

  auto missing = KeySource::Open(file.path(), std::string("entity"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("name, id"), std::string::npos);
}

TEST(KeySourceTest, QuotedHeaderAfterAByteOrderMark) {
  // Found by fuzz_csv_keys: "CSV UTF-8" files with a quoted first column did not match it.
  TempPath file;
  file.Write("\xEF\xBB\xBF\"id\",\"name\"\r\n\"1\",\"Berlin\"\r\n2,Paris\r\n");
  auto source = KeySource::Open(file.path(), std::string("id"));
  ASSERT_TRUE(source.ok()) << source.status();
  KeyRow row;
  std::vector<std::string> keys;
  while ((*source)->Next(row)) keys.push_back(row.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"1", "2"}));
}

TEST(ResumeTest, CsvHeaderWithAQuotedCarriageReturnMatches) {
  // Found by fuzz_resume_scan: the CLI's own header for a field named "f\r" did not match.
  std::vector<std::string> names{"f\r"};
  std::string content;
  AppendCsvHeader(names, content);
  AppendCsvRow(Row(2, "k2", v1::JOB_STATUS_OK), 1, content);
  TempPath file;
  file.Write(content);
  SeqBitmap done;
  auto scan = ScanOutput(file.path(), OutputFormat::kCsv, {"seq", "key", "f\r"}, done);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_TRUE(done.Test(2));
}

TEST(ResumeTest, HugeSeqIsRefusedNotAllocated) {
  // Found by fuzz_resume_scan: one line with seq 2^40 - 1 made the bitmap allocate 128 GiB (and
  // 2^32 - 1 still 512 MiB); seqs are now capped and the bitmap is paged.
  TempPath file;
  file.Write("{\"seq\":1099511627775,\"key\":\"k\",\"status\":\"OK\"}\n");
  SeqBitmap done;
  auto scan = ScanOutput(file.path(), OutputFormat::kJsonl, {}, done);
  EXPECT_EQ(scan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(done.count(), 0u);

  file.Write("{\"seq\":4294967295,\"key\":\"k\",\"status\":\"OK\"}\n");
  scan = ScanOutput(file.path(), OutputFormat::kJsonl, {}, done);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_TRUE(done.Test(4294967295u));
  EXPECT_FALSE(done.Test(4294967294u));
  EXPECT_FALSE(done.Test(uint64_t{1} << 40));
  EXPECT_EQ(done.count(), 1u);
}

}  // namespace
}  // namespace gather::client
