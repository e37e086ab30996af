#include "service/rpc/key_pages.h"

#include "gtest/gtest.h"

namespace gather::rpc {
namespace {

using Kind = KeyPages::Step::Kind;

fetch::FetchResult Answer(std::string body, std::string link = "") {
  fetch::FetchResult result;
  result.outcome = fetch::FetchOutcome::kResponse;
  result.http_status = 200;
  result.body = std::move(body);
  result.link = std::move(link);
  result.attempts = 1;
  return result;
}

fetch::FetchRequest First(std::string url) {
  fetch::FetchRequest request;
  request.url = std::move(url);
  request.method = fetch::Method::kPost;
  request.body = R"({"q":"x"})";
  request.headers = std::make_shared<fetch::HeaderSet>(
      std::vector<std::pair<std::string, std::string>>{{"X-Api-Key", "secret"},
                                                       {"Accept", "application/json"}});
  return request;
}

PagingPlan Plan(const v1::Paging& paging) {
  auto plan = BuildPagingPlan(paging, "spec.paging");
  EXPECT_TRUE(plan.ok()) << plan.status();
  return **plan;
}

class KeyPagesTest : public ::testing::Test {
 protected:
  KeyPages::Step Page(KeyPages& pages, fetch::FetchResult result,
                      v1::JobStatus status = v1::JOB_STATUS_OK, std::string error = "") {
    return pages.OnPage(result, status, std::move(error), parser_, fields_, {});
  }
  simdjson::ondemand::parser parser_;
  std::vector<extract::FieldSpec> fields_{{"id", *common::ParseJsonPointer("/id")}};
};

TEST_F(KeyPagesTest, CursorGoesBackAsQueryParameterOfTheFirstUrl) {
  v1::Paging paging;
  paging.set_next_token_pointer("/next_page_token");
  paging.set_token_param("pagetoken");
  paging.set_items("/results");
  PagingPlan plan = Plan(paging);
  KeyPages pages(plan, First("http://127.0.0.1:1/search?q=k1"));
  KeyPages::Step step = Page(pages, Answer(R"({"results":[{"id":1},{"id":2}],"next_page_token":"A"})"));
  ASSERT_EQ(step.kind, Kind::kNext);
  EXPECT_EQ(step.next.url, "http://127.0.0.1:1/search?q=k1&pagetoken=A");
  EXPECT_EQ(step.next.body, R"({"q":"x"})");  // a POST repeats its body
  EXPECT_EQ(step.next.method, fetch::Method::kPost);
  step = Page(pages, Answer(R"({"results":[{"id":3}],"next_page_token":"B"})"));
  ASSERT_EQ(step.kind, Kind::kNext);
  EXPECT_EQ(step.next.url, "http://127.0.0.1:1/search?q=k1&pagetoken=B");
  step = Page(pages, Answer(R"({"results":[]})"));
  EXPECT_EQ(step.kind, Kind::kDone);
  ASSERT_EQ(pages.rows().size(), 3u);
  EXPECT_EQ(pages.rows()[2].page, 1u);
  EXPECT_EQ(pages.rows()[2].item, 0u);
  EXPECT_EQ(pages.rows()[2].values[0], "3");
  EXPECT_EQ(pages.pages().size(), 3u);
  EXPECT_FALSE(pages.cut());
}

TEST_F(KeyPagesTest, RepeatedCursorIsAPageLoop) {
  v1::Paging paging;
  paging.set_next_token_pointer("/next");
  paging.set_token_param("t");
  PagingPlan plan = Plan(paging);
  KeyPages pages(plan, First("http://127.0.0.1:1/s"));
  ASSERT_EQ(Page(pages, Answer(R"({"id":1,"next":"A"})")).kind, Kind::kNext);
  ASSERT_EQ(Page(pages, Answer(R"({"id":2,"next":"B"})")).kind, Kind::kNext);
  KeyPages::Step step = Page(pages, Answer(R"({"id":3,"next":"A"})"));
  ASSERT_EQ(step.kind, Kind::kFailed);
  EXPECT_EQ(step.status, v1::JOB_STATUS_BAD_CONTENT);
  EXPECT_NE(step.error.find("page loop"), std::string::npos) << step.error;
  EXPECT_EQ(step.page, 3u);
  EXPECT_FALSE(step.answer_failed);
}

TEST_F(KeyPagesTest, LinkHeaderRelativeSameOriginKeepsHeadersOtherOriginDropsCredentials) {
  v1::Paging paging;
  paging.set_next_link(true);
  PagingPlan plan = Plan(paging);
  KeyPages pages(plan, First("http://127.0.0.1:1/items?page=1"));
  KeyPages::Step step = Page(pages, Answer(R"({"id":1})", R"(</items?page=2>; rel="next")"));
  ASSERT_EQ(step.kind, Kind::kNext);
  EXPECT_EQ(step.next.url, "http://127.0.0.1:1/items?page=2");
  EXPECT_NE(step.next.headers->signature().find("X-Api-Key"), std::string::npos);
  step = Page(pages, Answer(R"({"id":2})", R"(<http://127.0.0.2:1/items?page=3>; rel="next")"));
  ASSERT_EQ(step.kind, Kind::kNext);
  EXPECT_EQ(step.next.url, "http://127.0.0.2:1/items?page=3");
  EXPECT_EQ(step.next.host, "127.0.0.2");
  EXPECT_EQ(step.next.headers->signature().find("X-Api-Key"), std::string::npos);
  EXPECT_NE(step.next.headers->signature().find("Accept"), std::string::npos);
  // Back to page 1: a loop.
  step = Page(pages, Answer(R"({"id":3})", R"(<http://127.0.0.1:1/items?page=1>; rel="next")"));
  ASSERT_EQ(step.kind, Kind::kFailed);
  EXPECT_NE(step.error.find("page loop"), std::string::npos) << step.error;
}

TEST_F(KeyPagesTest, MaxPagesCutsTheKeyWithItsRows) {
  v1::Paging paging;
  paging.set_next_url_pointer("/next");
  paging.set_max_pages(2);
  PagingPlan plan = Plan(paging);
  KeyPages pages(plan, First("http://127.0.0.1:1/p/1"));
  ASSERT_EQ(Page(pages, Answer(R"({"id":1,"next":"/p/2"})")).kind, Kind::kNext);
  KeyPages::Step step = Page(pages, Answer(R"({"id":2,"next":"/p/3"})"));
  EXPECT_EQ(step.kind, Kind::kDone);
  EXPECT_TRUE(pages.cut());
  EXPECT_EQ(pages.rows().size(), 2u);
}

TEST_F(KeyPagesTest, AFailedPageEndsTheKeyAndSaysRowsWereNotSent) {
  v1::Paging paging;
  paging.set_next_url_pointer("/next");
  PagingPlan plan = Plan(paging);
  KeyPages pages(plan, First("http://127.0.0.1:1/p/1"));
  ASSERT_EQ(Page(pages, Answer(R"({"id":1,"next":"/p/2"})")).kind, Kind::kNext);
  fetch::FetchResult failed = Answer("{}");
  failed.http_status = 500;
  KeyPages::Step step = Page(pages, failed, v1::JOB_STATUS_HTTP_ERROR, "HTTP 500");
  ASSERT_EQ(step.kind, Kind::kFailed);
  EXPECT_EQ(step.status, v1::JOB_STATUS_HTTP_ERROR);
  EXPECT_EQ(step.page, 2u);
  EXPECT_TRUE(step.answer_failed);
  EXPECT_EQ(step.error, "page 2: HTTP 500 (the 1 rows read before were not sent)");
  // A next URL that is not http(s).
  KeyPages other(plan, First("http://127.0.0.1:1/p/1"));
  step = Page(other, Answer(R"({"id":1,"next":"file:///etc/passwd"})"));
  ASSERT_EQ(step.kind, Kind::kFailed);
  EXPECT_EQ(step.status, v1::JOB_STATUS_BAD_CONTENT);
}

TEST(BuildPagingPlanTest, ErrorsNameTheField) {
  v1::Paging paging;
  EXPECT_FALSE(BuildPagingPlan(paging, "spec.paging")->has_value());
  paging.set_next_link(true);
  paging.set_next_url_pointer("/next");
  EXPECT_EQ(BuildPagingPlan(paging, "spec.paging").status().message(),
            "spec.paging.next_url_pointer: give one of next_url_pointer, next_link and "
            "next_token_pointer");
  paging.Clear();
  paging.set_next_token_pointer("/t");
  EXPECT_NE(BuildPagingPlan(paging, "spec.paging").status().message().find("token_param"),
            absl::string_view::npos);
  paging.set_token_param("pagetoken");
  paging.set_max_pages(kMaxPagesLimit + 1);
  EXPECT_NE(BuildPagingPlan(paging, "spec.paging").status().message().find("max_pages"),
            absl::string_view::npos);
  paging.set_max_pages(0);
  paging.set_items("results");
  EXPECT_NE(BuildPagingPlan(paging, "spec.paging").status().message().find("spec.paging.items"),
            absl::string_view::npos);
  paging.set_items("/results");
  auto plan = BuildPagingPlan(paging, "spec.paging");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->max_pages, kDefaultMaxPages);
}

}  // namespace
}  // namespace gather::rpc
