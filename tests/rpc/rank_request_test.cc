#include "service/rpc/rank_request.h"

#include "gtest/gtest.h"

namespace gather::rpc {
namespace {

v1::FetchAndRankRequest ValidRequest() {
  v1::FetchAndRankRequest request;
  v1::Job* job = request.add_jobs();
  job->set_id("a");
  job->set_url("http://127.0.0.1:1/a");
  request.mutable_score()->set_values_pointer("/data");
  request.mutable_score()->set_row_reducer(v1::REDUCER_MEAN);
  request.mutable_score()->set_across_reducer(v1::REDUCER_MAX);
  return request;
}

void ExpectInvalid(const v1::FetchAndRankRequest& request, absl::string_view field) {
  auto plan = BuildRankPlan(request, config::Limits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find(field), std::string::npos) << plan.status().message();
}

TEST(RankRequestTest, ValidRequestGivesDefaults) {
  auto plan = BuildRankPlan(ValidRequest(), config::Limits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->jobs.size(), 1u);
  EXPECT_EQ(plan->policy.concurrency, 50);
  EXPECT_EQ(plan->policy.timeout, absl::Seconds(10));
  EXPECT_EQ(plan->score->across_reducer, extract::Reducer::kMax);
}

TEST(RankRequestTest, NamesTheFieldAtFault) {
  auto request = ValidRequest();
  request.mutable_jobs(0)->set_url("ftp://x/y");
  ExpectInvalid(request, "jobs[0].url");

  request = ValidRequest();
  request.add_jobs()->set_url("not a url");
  ExpectInvalid(request, "jobs[1].url");

  request = ValidRequest();
  request.clear_jobs();
  ExpectInvalid(request, "jobs");

  request = ValidRequest();
  request.mutable_score()->set_values_pointer("data");
  ExpectInvalid(request, "score.values_pointer");

  request = ValidRequest();
  request.mutable_score()->set_row_reducer(v1::REDUCER_UNSPECIFIED);
  ExpectInvalid(request, "score.row_reducer");

  request = ValidRequest();
  request.mutable_score()->set_across_reducer(static_cast<v1::Reducer>(42));
  ExpectInvalid(request, "score.across_reducer");

  request = ValidRequest();
  request.clear_score();
  ExpectInvalid(request, "score");

  request = ValidRequest();
  request.mutable_policy()->set_concurrency(100000);
  ExpectInvalid(request, "policy.concurrency");

  request = ValidRequest();
  request.mutable_policy()->set_timeout_seconds(-1);
  ExpectInvalid(request, "policy.timeout_seconds");

  request = ValidRequest();
  auto* header = request.add_headers();
  header->set_name("X-Token");
  header->set_value("secret\r\nInjected: 1");
  auto plan = BuildRankPlan(request, config::Limits{});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("headers[0].value"), std::string::npos);
  EXPECT_EQ(plan.status().message().find("secret"), std::string::npos);
}

TEST(RankRequestTest, DiscoveryIsValidated) {
  v1::FetchAndRankRequest request = ValidRequest();
  request.clear_jobs();
  v1::Discovery* d = request.mutable_discovery();
  d->set_index_url("http://127.0.0.1:1/api/v1/charts");
  d->set_keys_pointer("/charts");
  d->set_url_template("http://127.0.0.1:1/api/v1/data?chart={key}");
  auto plan = BuildRankPlan(request, config::Limits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->discovery);

  d->set_url_template("http://{key}/x");
  ExpectInvalid(request, "discovery.url_template");
  d->set_url_template("http://127.0.0.1:1/api/v1/data");
  ExpectInvalid(request, "discovery.url_template");
  d->set_url_template("http://127.0.0.1:1/api/v1/data?chart={key}");
  d->set_keys_pointer("charts");
  ExpectInvalid(request, "discovery.keys_pointer");
  d->set_keys_pointer("/charts");
  d->set_index_url("");
  ExpectInvalid(request, "discovery.index_url");

  request.add_jobs()->set_url("http://127.0.0.1:1/a");
  d->set_index_url("http://127.0.0.1:1/api/v1/charts");
  ExpectInvalid(request, "jobs");
}

TEST(RankRequestTest, FieldsWithoutAScoreFetchAndExtractOnly) {
  v1::FetchAndRankRequest request = ValidRequest();
  request.clear_score();
  ExpectInvalid(request, "score");  // neither a score nor fields
  v1::Field* field = request.add_fields();
  field->set_name("total");
  field->set_pointer("/total");
  request.add_required("/total");
  auto plan = BuildRankPlan(request, config::Limits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->score.has_value());
  ASSERT_EQ(plan->fields.size(), 1u);
  EXPECT_EQ(plan->fields[0].name, "total");
  EXPECT_EQ(plan->required.size(), 1u);
  request.mutable_fields(0)->set_pointer("total");  // no leading '/'
  ExpectInvalid(request, "fields[0].pointer");
}

TEST(RankRequestTest, PagesAreForFieldsNotScores) {
  v1::FetchAndRankRequest request = ValidRequest();
  request.mutable_paging()->set_next_link(true);
  ExpectInvalid(request, "paging");  // a score
  request.clear_score();
  v1::Field* field = request.add_fields();
  field->set_name("id");
  field->set_pointer("/id");
  auto plan = BuildRankPlan(request, config::Limits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_TRUE(plan->paging.has_value());
  EXPECT_EQ(plan->paging->page.next, extract::PageSpec::Next::kLinkHeader);
  request.mutable_paging()->set_token_param("t");
  ExpectInvalid(request, "paging.token_param");
}

TEST(RankRequestTest, MethodsAndBodies) {
  v1::FetchAndRankRequest request = ValidRequest();
  request.set_method("post");
  request.set_body(R"({"q": 1})");
  auto plan = BuildRankPlan(request, config::Limits{});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->method, fetch::Method::kPost);
  EXPECT_EQ(plan->body, R"({"q": 1})");
  ASSERT_TRUE(plan->jobs[0].headers);
  EXPECT_NE(plan->jobs[0].headers->signature().find("Content-Type: application/json"),
            std::string::npos);
  request.set_method("GET");
  ExpectInvalid(request, "body");
  request.set_method("TRACE");
  ExpectInvalid(request, "method");
}

}  // namespace
}  // namespace gather::rpc
