#include "service/rpc/discovery.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace gather::rpc {
namespace {

using Keys = std::vector<std::string>;

absl::StatusOr<Keys> Parse(std::string body, absl::string_view pointer, uint64_t max_keys = 100) {
  return ParseIndexKeys(body, pointer, max_keys);
}

void ExpectFails(std::string body, absl::string_view pointer, absl::string_view why) {
  auto keys = Parse(std::move(body), pointer);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(keys.status().message().rfind("discovery.keys_pointer: ", 0), 0u)
      << keys.status().message();
  EXPECT_NE(keys.status().message().find(why), std::string::npos) << keys.status().message();
}

TEST(DiscoveryTest, ObjectGivesItsMemberNamesInOrder) {
  auto keys = Parse(R"({"hosts": {"b": 1, "a": {"x": 2}, "c\u0041": null}})", "/hosts");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (Keys{"b", "a", "cA"}));
}

TEST(DiscoveryTest, ArrayGivesStringsAndNumbersAsWritten) {
  auto keys = Parse(R"({"ids": ["x", 12, 1.50, -3 ]})", "/ids");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (Keys{"x", "12", "1.50", "-3"}));
}

TEST(DiscoveryTest, WholeDocumentAndEscapedPointers) {
  auto keys = Parse(R"(["a", "b"])", "");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (Keys{"a", "b"}));
  keys = Parse(R"({"a/b": {"k": 0}})", "/a~1b");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (Keys{"k"}));
}

TEST(DiscoveryTest, StopsAtMaxKeys) {
  auto keys = Parse(R"([1, 2, 3, 4])", "", /*max_keys=*/2);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, (Keys{"1", "2"}));
}

TEST(DiscoveryTest, EmptyContainersGiveNoKeys) {
  auto keys = Parse(R"({"a": [], "b": {}})", "/a");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  keys = Parse(R"({"a": [], "b": {}})", "/b");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST(DiscoveryTest, ErrorsNameWhatIsWrong) {
  ExpectFails("not json", "/a", "");  // simdjson reports it at the pointer lookup
  ExpectFails(R"({"a": [1]})", "/b", "no keys at \"/b\" in the index");
  ExpectFails(R"({"a": "text"})", "/a", "is neither an object nor an array");
  ExpectFails(R"({"a": ["x", {"y": 1}]})", "/a", "not a string or a number");
  ExpectFails(R"({"a": ["x", true]})", "/a", "not a string or a number");
}

TEST(DiscoveryTest, JobsFromKeysExpandTheTemplate) {
  v1::FetchAndRankRequest request;
  request.mutable_discovery()->set_index_url("http://127.0.0.1:1/index");
  request.mutable_discovery()->set_keys_pointer("/k");
  request.mutable_discovery()->set_url_template("http://127.0.0.1:1/item/{key}");
  request.mutable_score()->set_values_pointer("/data");
  request.mutable_score()->set_row_reducer(v1::REDUCER_MEAN);
  request.mutable_score()->set_across_reducer(v1::REDUCER_MAX);
  auto plan = BuildRankPlan(request, config::Limits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<RankJob> jobs = JobsFromKeys(*plan, {"a", "b c"});
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].id, "a");
  EXPECT_EQ(jobs[0].url, "http://127.0.0.1:1/item/a");
  EXPECT_EQ(jobs[1].id, "b c");
  EXPECT_EQ(jobs[1].url.rfind("http://127.0.0.1:1/item/b", 0), 0u);
  EXPECT_NE(jobs[1].url, "http://127.0.0.1:1/item/b c");  // the key is escaped
}

TEST(DiscoveryTest, InvalidJobReason) {
  RankJob job;
  EXPECT_EQ(InvalidJobReason(job, 100), "empty key");
  job.id = "a";
  job.url = std::string(101, 'u');
  EXPECT_EQ(InvalidJobReason(job, 100), "URL longer than 100 bytes");
  job.url.resize(100);
  EXPECT_EQ(InvalidJobReason(job, 100), "");
}

}  // namespace
}  // namespace gather::rpc
