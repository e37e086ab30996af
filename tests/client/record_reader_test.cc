#include "client/io/record_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"

namespace gather::client {
namespace {

std::string TempFile(const std::string& content) {
  char name[] = "/tmp/gather_reader_XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fd);
  return name;
}

std::vector<std::vector<std::string>> ReadAll(const std::string& content, RecordReader::Mode mode,
                                              bool* last_complete = nullptr,
                                              uint64_t* complete_end = nullptr) {
  std::string path = TempFile(content);
  auto reader = RecordReader::Open(path, mode);
  EXPECT_TRUE(reader.ok());
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> fields;
  while ((*reader)->Next(fields)) records.push_back(fields);
  if (last_complete) *last_complete = (*reader)->last_complete();
  if (complete_end) *complete_end = (*reader)->complete_end();
  std::remove(path.c_str());
  return records;
}

TEST(RecordReaderTest, LinesKeepEmptyLinesAndStripCr) {
  bool complete = false;
  auto records = ReadAll("a\r\n\nb\nlast", RecordReader::Mode::kLines, &complete);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0][0], "a");
  EXPECT_EQ(records[1][0], "");
  EXPECT_EQ(records[2][0], "b");
  EXPECT_EQ(records[3][0], "last");
  EXPECT_FALSE(complete);  // no final newline
}

TEST(RecordReaderTest, CsvQuotedFieldsWithCommasQuotesAndNewlines) {
  uint64_t end = 0;
  bool complete = false;
  auto records = ReadAll("id,name\r\n1,\"a, \"\"b\"\"\nc\"\n2,plain\n3,\"torn", RecordReader::Mode::kCsv,
                         &complete, &end);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0], (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(records[1], (std::vector<std::string>{"1", "a, \"b\"\nc"}));
  EXPECT_EQ(records[2], (std::vector<std::string>{"2", "plain"}));
  EXPECT_FALSE(complete);
  EXPECT_EQ(end, std::string("id,name\r\n1,\"a, \"\"b\"\"\nc\"\n2,plain\n").size());
}

TEST(RecordReaderTest, LongLinesSpanBlocks) {
  std::string big(3 << 20, 'k');
  auto records = ReadAll(big + "\nnext\n", RecordReader::Mode::kLines);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0][0].size(), big.size());
  EXPECT_EQ(records[1][0], "next");
}

TEST(RecordReaderTest, MissingFileIsNotFound) {
  auto reader = RecordReader::Open("/nonexistent/keys.txt", RecordReader::Mode::kLines);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
}

TEST(RecordReaderTest, CsvKeepsACarriageReturnInsideQuotes) {
  // Found by fuzz_csv_keys / fuzz_resume_scan: "\r\n" handling also ate a quoted trailing '\r',
  // so a column written as "name\r" read back as "name".
  auto records = ReadAll("\"a\r\",\"b\r\"\n\"c\r\"\r\nd,\"e\"\r\n", RecordReader::Mode::kCsv);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], (std::vector<std::string>{"a\r", "b\r"}));
  EXPECT_EQ(records[1], (std::vector<std::string>{"c\r"}));
  EXPECT_EQ(records[2], (std::vector<std::string>{"d", "e"}));
}

TEST(RecordReaderTest, CsvQuoteAfterAByteOrderMarkOpensAQuotedField) {
  // Found by fuzz_csv_keys: a quote right after a leading BOM was taken literally.
  auto records = ReadAll("\xEF\xBB\xBF\"id, x\",name\n\"1\",a\n", RecordReader::Mode::kCsv);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], (std::vector<std::string>{"\xEF\xBB\xBFid, x", "name"}));
  EXPECT_EQ(records[1], (std::vector<std::string>{"1", "a"}));
}

}  // namespace
}  // namespace gather::client
