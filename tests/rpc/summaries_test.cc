#include "service/rpc/summaries.h"

#include <vector>

#include "gtest/gtest.h"

namespace gather::rpc {
namespace {

TEST(SummariesTest, StatusCountsListOnlyStatusesWithJobsInOrder) {
  StatusCounts counts;
  EXPECT_EQ(counts.total(), 0u);
  counts.Add(v1::JOB_STATUS_CANCELLED);
  counts.Add(v1::JOB_STATUS_OK);
  counts.Add(v1::JOB_STATUS_OK);
  counts.Add(static_cast<v1::JobStatus>(1000));  // out of range: ignored
  EXPECT_EQ(counts.total(), 3u);
  EXPECT_EQ(counts.count(v1::JOB_STATUS_OK), 2u);
  google::protobuf::RepeatedPtrField<v1::StatusCount> out;
  counts.AppendTo(&out);
  ASSERT_EQ(out.size(), 2);
  EXPECT_EQ(out[0].status(), v1::JOB_STATUS_OK);
  EXPECT_EQ(out[0].count(), 2u);
  EXPECT_EQ(out[1].status(), v1::JOB_STATUS_CANCELLED);
  EXPECT_EQ(out[1].count(), 1u);
  EXPECT_EQ(counts.size(), v1::JobStatus_ARRAYSIZE);
}

TEST(SummariesTest, RankSummaryRanksTheTopNInOrder) {
  std::vector<extract::Scored> scored = {
      {"a", "u/a", 1}, {"b", "u/b", 3}, {"c", "u/c", 2}, {"d", "u/d", 3}};
  StatusCounts counts;
  for (int i = 0; i < 4; ++i) counts.Add(v1::JOB_STATUS_OK);
  counts.Add(v1::JOB_STATUS_MISSING);
  v1::RankSummary summary =
      BuildRankSummary(scored, 3, /*ascending=*/false, 5, counts, absl::Milliseconds(12), 99);
  ASSERT_EQ(summary.ranking_size(), 3);
  EXPECT_EQ(summary.ranking(0).id(), "b");  // ties by id
  EXPECT_EQ(summary.ranking(0).rank(), 1u);
  EXPECT_EQ(summary.ranking(1).id(), "d");
  EXPECT_EQ(summary.ranking(2).id(), "c");
  EXPECT_EQ(summary.ranking(2).rank(), 3u);
  EXPECT_EQ(summary.ranking(2).url(), "u/c");
  EXPECT_EQ(summary.ranking(2).score(), 2);
  EXPECT_EQ(summary.jobs(), 5u);
  ASSERT_EQ(summary.status_counts_size(), 2);
  EXPECT_EQ(summary.status_counts(1).status(), v1::JOB_STATUS_MISSING);
  EXPECT_DOUBLE_EQ(summary.wall_ms(), 12);
  EXPECT_EQ(summary.bytes(), 99u);

  v1::RankSummary ascending =
      BuildRankSummary(scored, 0, /*ascending=*/true, 5, counts, absl::ZeroDuration(), 0);
  ASSERT_EQ(ascending.ranking_size(), 4);  // 0: every scored job
  EXPECT_EQ(ascending.ranking(0).id(), "a");
  EXPECT_EQ(ascending.ranking(3).rank(), 4u);
}

TEST(SummariesTest, LookupSummaryCarriesTheTotals) {
  StatusCounts counts;
  counts.Add(v1::JOB_STATUS_OK);
  counts.Add(v1::JOB_STATUS_INVALID_KEY);
  v1::LookupSummary summary =
      BuildLookupSummary(2, counts, absl::Milliseconds(5), 1234, /*rate=*/7.5);
  EXPECT_EQ(summary.keys(), 2u);
  EXPECT_EQ(summary.status_counts_size(), 2);
  EXPECT_DOUBLE_EQ(summary.wall_ms(), 5);
  EXPECT_EQ(summary.bytes(), 1234u);
  EXPECT_DOUBLE_EQ(summary.rate(), 7.5);
}

}  // namespace
}  // namespace gather::rpc
