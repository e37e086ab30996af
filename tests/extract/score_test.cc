#include "service/extract/score.h"

#include <cmath>

#include "gtest/gtest.h"

namespace gather::extract {
namespace {

ScoreOutcome Score(std::string body, std::string pointer, uint32_t skip, Reducer row,
                   Reducer across) {
  simdjson::ondemand::parser parser;
  ScoreSpec spec;
  spec.values = *common::ParseJsonPointer(pointer);
  spec.skip_columns = skip;
  spec.row_reducer = row;
  spec.across_reducer = across;
  return ScoreJson(parser, PadForParse(body), spec);
}

TEST(AccumulatorTest, EveryReducer) {
  const double values[] = {3, -1, 4, 1.5};
  struct Case {
    Reducer reducer;
    double want;
  } cases[] = {{Reducer::kMean, 7.5 / 4}, {Reducer::kSum, 7.5}, {Reducer::kMin, -1},
               {Reducer::kMax, 4},        {Reducer::kLast, 1.5}, {Reducer::kCount, 4}};
  for (const Case& c : cases) {
    Accumulator acc(c.reducer);
    EXPECT_TRUE(acc.Empty());
    for (double v : values) acc.Add(v);
    EXPECT_FALSE(acc.Empty());
    EXPECT_DOUBLE_EQ(acc.Result(), c.want) << common::ReducerName(c.reducer);
  }
}

TEST(ReducerTest, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*common::ParseReducer("MEAN"), Reducer::kMean);
  EXPECT_EQ(*common::ParseReducer("count"), Reducer::kCount);
  auto bad = common::ParseReducer("median");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("median"), std::string::npos);
}

TEST(ScoreTest, NetdataMeanOfRowMeansSkipsTimeAndNulls) {
  // rows after the time column: [1,3] -> 2; [null,6] -> 6; [null,null] -> skipped.
  auto out = Score(R"({"labels":["time","a","b"],"data":[[100,1,3],[99,null,6],[98,null,null]]})",
                   "/data", 1, Reducer::kMean, Reducer::kMean);
  ASSERT_EQ(out.status, ScoreStatus::kOk) << out.error;
  EXPECT_DOUBLE_EQ(out.score, 4.0);
}

TEST(ScoreTest, MaxOfRowSums) {
  auto out = Score(R"({"data":[[1,2,3],[10,-20,5],[0,0,0]]})", "/data", 0, Reducer::kSum,
                   Reducer::kMax);
  ASSERT_EQ(out.status, ScoreStatus::kOk);
  EXPECT_DOUBLE_EQ(out.score, 6.0);
}

TEST(ScoreTest, SingleNumberAndFlatArray) {
  auto number = Score(R"({"v":{"x":42.5}})", "/v/x", 0, Reducer::kMean, Reducer::kMean);
  ASSERT_EQ(number.status, ScoreStatus::kOk);
  EXPECT_DOUBLE_EQ(number.score, 42.5);
  auto flat = Score(R"([7, 1, null, 2])", "", 1, Reducer::kSum, Reducer::kMean);
  ASSERT_EQ(flat.status, ScoreStatus::kOk);
  EXPECT_DOUBLE_EQ(flat.score, 3.0);
}

TEST(ScoreTest, EscapedPointer) {
  auto out = Score(R"({"a/b":{"m~n":[1,2,3]}})", "/a~1b/m~0n", 0, Reducer::kMax, Reducer::kMax);
  ASSERT_EQ(out.status, ScoreStatus::kOk);
  EXPECT_DOUBLE_EQ(out.score, 3.0);
}

TEST(ScoreTest, AllNullIsMissing) {
  auto out = Score(R"({"data":[[1,null],[2,null]]})", "/data", 1, Reducer::kMean, Reducer::kMean);
  EXPECT_EQ(out.status, ScoreStatus::kMissing);
  EXPECT_FALSE(out.error.empty());
}

TEST(ScoreTest, AbsentPointerIsMissing) {
  auto out = Score(R"({"labels":[]})", "/data", 0, Reducer::kMean, Reducer::kMean);
  EXPECT_EQ(out.status, ScoreStatus::kMissing);
}

TEST(ScoreTest, NotJsonIsBadContent) {
  auto out = Score("<html>nope</html>", "/data", 0, Reducer::kMean, Reducer::kMean);
  EXPECT_EQ(out.status, ScoreStatus::kBadContent);
  auto truncated = Score(R"({"data":[[1,2],[3,)", "/data", 0, Reducer::kMean, Reducer::kMean);
  EXPECT_EQ(truncated.status, ScoreStatus::kBadContent);
}

TEST(ScoreTest, EmptyPointerOnAScalarDocument) {
  // Found by fuzz_json_extract: at_pointer("") cannot return a scalar document, so a body that is
  // just a number read as "body is not JSON".
  auto number = Score(" 42.5 ", "", 0, Reducer::kMean, Reducer::kMean);
  ASSERT_EQ(number.status, ScoreStatus::kOk) << number.error;
  EXPECT_DOUBLE_EQ(number.score, 42.5);
  EXPECT_EQ(Score("null", "", 0, Reducer::kMean, Reducer::kMean).status, ScoreStatus::kMissing);
  auto text = Score(R"("x")", "", 0, Reducer::kMean, Reducer::kMean);
  EXPECT_EQ(text.status, ScoreStatus::kBadContent);
  EXPECT_EQ(text.error.find("body is not JSON"), std::string::npos) << text.error;
}

TEST(ScoreTest, WrongShapeIsBadContent) {
  EXPECT_EQ(Score(R"({"data":"x"})", "/data", 0, Reducer::kMean, Reducer::kMean).status,
            ScoreStatus::kBadContent);
  EXPECT_EQ(Score(R"({"data":[[1,"two"]]})", "/data", 0, Reducer::kMean, Reducer::kMean).status,
            ScoreStatus::kBadContent);
  EXPECT_EQ(Score(R"({"data":[1,[2]]})", "/data", 0, Reducer::kMean, Reducer::kMean).status,
            ScoreStatus::kBadContent);
}

TEST(ScoreTest, CountCountsNonNullValues) {
  auto out = Score(R"({"data":[[0,1,null,3],[0,null,null,null],[0,5,5,5]]})", "/data", 1,
                   Reducer::kCount, Reducer::kSum);
  ASSERT_EQ(out.status, ScoreStatus::kOk);
  EXPECT_DOUBLE_EQ(out.score, 5.0);
}

}  // namespace
}  // namespace gather::extract

namespace gather::extract {
namespace {

TEST(ScoreOverflowTest, ANonFiniteScoreIsBadContentNotAnUnorderableRank) {
  simdjson::ondemand::parser parser;
  ScoreSpec spec;
  spec.values = *common::ParseJsonPointer("/v");
  spec.row_reducer = Reducer::kSum;
  spec.across_reducer = Reducer::kSum;
  std::string body = R"({"v":[1e308,1e308,-1e308,-1e308,-1e308]})";
  ScoreOutcome outcome = ScoreJson(parser, PadForParse(body), spec);
  EXPECT_EQ(outcome.status, ScoreStatus::kBadContent);
  EXPECT_NE(outcome.error.find("finite"), std::string::npos);
}

}  // namespace
}  // namespace gather::extract
