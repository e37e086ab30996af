#include "service/rpc/lookup_request.h"

#include "gtest/gtest.h"

namespace gather::rpc {
namespace {

v1::LookupSpec GoodSpec() {
  v1::LookupSpec spec;
  spec.set_url_template("https://api.example/api/v2/entities/{key}?select=id,label");
  v1::Field* field = spec.add_fields();
  field->set_name("city");
  field->set_pointer("/location/cityLabel");
  spec.add_required("/location");
  v1::Header* header = spec.add_headers();
  header->set_name("Authorization");
  header->set_value("Bearer very-secret");
  return spec;
}

void ExpectInvalid(const v1::LookupSpec& spec, const std::string& field) {
  auto plan = BuildLookupPlan(spec, config::Limits());
  ASSERT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << field;
  EXPECT_EQ(plan.status().message().rfind(field, 0), 0u) << plan.status().message();
  EXPECT_EQ(plan.status().message().find("very-secret"), std::string::npos);
}

TEST(LookupRequestTest, BuildsAPlanWithDefaults) {
  auto plan = BuildLookupPlan(GoodSpec(), config::Limits());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->host, "api.example");
  EXPECT_FALSE(plan->head());
  ASSERT_EQ(plan->fields.size(), 1u);
  EXPECT_EQ(plan->fields[0].pointer.text, "/location/cityLabel");
  EXPECT_EQ(plan->required.size(), 1u);
  EXPECT_EQ(plan->policy.concurrency, 50);
  EXPECT_EQ(plan->policy.timeout, absl::Seconds(10));
  EXPECT_TRUE(plan->parses_body());
}

TEST(LookupRequestTest, RejectsBadSpecsNamingTheField) {
  v1::LookupSpec spec = GoodSpec();
  spec.set_url_template("https://api.example/entities");
  ExpectInvalid(spec, "spec.url_template");
  spec.set_url_template("https://{key}.example/entities");
  ExpectInvalid(spec, "spec.url_template");
  spec.set_url_template("ftp://api.example/{key}");
  ExpectInvalid(spec, "spec.url_template");

  spec = GoodSpec();
  spec.mutable_fields(0)->set_pointer("location");
  ExpectInvalid(spec, "spec.fields[0].pointer");
  spec = GoodSpec();
  *spec.add_fields() = spec.fields(0);
  ExpectInvalid(spec, "spec.fields[1].name");
  spec = GoodSpec();
  spec.mutable_fields(0)->set_name("");
  ExpectInvalid(spec, "spec.fields[0].name");
  spec = GoodSpec();
  spec.set_required(0, "nope");
  ExpectInvalid(spec, "spec.required[0]");
  spec = GoodSpec();
  spec.mutable_headers(0)->set_value("x\r\nInjected: 1");
  ExpectInvalid(spec, "spec.headers[0].value");
  spec = GoodSpec();
  spec.set_method("CONNECT");
  ExpectInvalid(spec, "spec.method");
  spec = GoodSpec();
  spec.set_method("HEAD");
  ExpectInvalid(spec, "spec.method");  // HEAD has no body to extract fields from
  spec = GoodSpec();
  spec.mutable_policy()->set_concurrency(1'000'000);
  ExpectInvalid(spec, "spec.policy.concurrency");
  spec = GoodSpec();
  spec.mutable_policy()->set_timeout_seconds(-1);
  ExpectInvalid(spec, "spec.policy.timeout_seconds");
}

TEST(LookupRequestTest, HeadWithoutFieldsIsAllowed) {
  v1::LookupSpec spec;
  spec.set_url_template("http://api.example/{key}");
  spec.set_method("head");
  auto plan = BuildLookupPlan(spec, config::Limits());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->head());
  EXPECT_FALSE(plan->parses_body());
}

v1::Key PlainKey(std::string key) {
  v1::Key out;
  out.set_key(std::move(key));
  return out;
}

v1::Key RowKey(std::vector<std::pair<std::string, std::string>> columns) {
  v1::Key out;
  for (auto& [name, value] : columns) {
    v1::Column* column = out.add_columns();
    column->set_name(name);
    column->set_value(value);
  }
  return out;
}

TEST(LookupRequestTest, KeysExpandOrSayWhyNot) {
  auto plan = BuildLookupPlan(GoodSpec(), config::Limits());
  ASSERT_TRUE(plan.ok());
  config::Limits limits;
  auto request = RequestForKey(*plan, PlainKey("a b/c"), limits);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->url, "https://api.example/api/v2/entities/a%20b%2Fc?select=id,label");
  EXPECT_EQ(request->method, fetch::Method::kGet);
  EXPECT_EQ(request->host, "api.example");
  EXPECT_EQ(RequestForKey(*plan, PlainKey(""), limits).status().message(), "empty key");
  auto long_key = RequestForKey(*plan, PlainKey(std::string(100 * 1024, 'k')), limits);
  ASSERT_FALSE(long_key.ok());
  EXPECT_NE(long_key.status().message().find("longer than 8192"), std::string::npos);
  // Percent-encoding triples the length: 3000 bytes of spaces make a URL over 8192.
  EXPECT_FALSE(RequestForKey(*plan, PlainKey(std::string(3000, ' ')), limits).ok());
}

TEST(LookupRequestTest, RowsFillNamedPlaceholdersInUrlBodyAndHeaders) {
  v1::LookupSpec spec;
  spec.set_url_template("https://api.example/search?loc={lat},{lng}&r={radius}");
  spec.set_method("post");
  spec.set_body(R"({"q": "{keyword}", "lat": {lat}, "filter": {"open": true}})");
  v1::Header* header = spec.add_headers();
  header->set_name("X-Trace");
  header->set_value("row-{id}");
  spec.mutable_policy()->set_idempotent(true);
  auto plan = BuildLookupPlan(spec, config::Limits());
  ASSERT_TRUE(plan.ok()) << plan.status();
  config::Limits limits;
  auto request = RequestForKey(*plan, RowKey({{"id", "7"}, {"lat", "40.1"}, {"lng", "-73.9"},
                                              {"radius", "500"}, {"keyword", "café \"x\" & y"}}),
                               limits);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->url, "https://api.example/search?loc=40.1,-73.9&r=500");
  EXPECT_EQ(request->body, R"({"q": "café \"x\" & y", "lat": 40.1, "filter": {"open": true}})");
  EXPECT_EQ(request->method, fetch::Method::kPost);
  EXPECT_TRUE(request->idempotent);
  ASSERT_TRUE(request->headers);
  EXPECT_NE(request->headers->signature().find("X-Trace: row-7"), std::string::npos);
  EXPECT_NE(request->headers->signature().find("Content-Type: application/json"),
            std::string::npos);
  // A value that breaks the JSON (a word where a number goes): INVALID_KEY, nothing sent.
  auto not_json = RequestForKey(*plan, RowKey({{"id", "8"}, {"lat", "north"}, {"lng", "1"},
                                               {"radius", "1"}, {"keyword", "k"}}),
                                limits);
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("not valid JSON"), std::string::npos);
  // A missing column is named.
  auto missing = RequestForKey(*plan, RowKey({{"id", "9"}, {"lat", "1"}, {"lng", "1"},
                                              {"keyword", "k"}}),
                               limits);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("\"radius\""), std::string::npos);
  // A header value cannot gain a line.
  auto injected = RequestForKey(*plan, RowKey({{"id", "1\r\nX-Evil: 1"}, {"lat", "1"},
                                               {"lng", "1"}, {"radius", "1"}, {"keyword", "k"}}),
                                limits);
  EXPECT_FALSE(injected.ok());
}

TEST(LookupRequestTest, FormBodiesArePercentEncoded) {
  v1::LookupSpec spec;
  spec.set_url_template("https://api.example/form");
  spec.set_method("POST");
  spec.set_body("q={q}&n={n}");
  v1::Header* header = spec.add_headers();
  header->set_name("Content-Type");
  header->set_value("application/x-www-form-urlencoded");
  auto plan = BuildLookupPlan(spec, config::Limits());
  ASSERT_TRUE(plan.ok()) << plan.status();
  auto request = RequestForKey(*plan, RowKey({{"q", "a b&c=d"}, {"n", "1"}}), config::Limits());
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->body, "q=a%20b%26c%3Dd&n=1");
}

TEST(LookupRequestTest, BadBodiesAndMethodsAreRefusedNamingTheField) {
  v1::LookupSpec spec;
  spec.set_url_template("https://api.example/x");
  spec.set_method("POST");
  spec.set_body(R"({"q": "{q}")");  // unbalanced: never JSON
  ExpectInvalid(spec, "spec.body");
  spec.set_body(R"({"q": "{q}"})");
  spec.set_method("GET");
  ExpectInvalid(spec, "spec.body");  // GET has no body
  spec.set_method("FETCH");
  ExpectInvalid(spec, "spec.method");
  spec.set_method("POST");
  spec.set_body("{}");
  ExpectInvalid(spec, "spec.url_template");  // no placeholder anywhere
  spec.set_url_template("https://{host}/x");
  spec.set_body(R"({"q": "{q}"})");
  ExpectInvalid(spec, "spec.url_template");  // a placeholder in the host
}

TEST(LookupRequestTest, KeyBatchSizeIsBounded) {
  config::Limits limits;
  limits.max_keys_per_message = 2;
  v1::KeyBatch batch;
  batch.add_keys()->set_key("a");
  batch.add_keys()->set_key("b");
  EXPECT_TRUE(ValidateKeyBatch(batch, 0, limits).ok());
  batch.add_keys()->set_key("c");
  auto status = ValidateKeyBatch(batch, 4, limits);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("message 5"), std::string::npos);
}

}  // namespace
}  // namespace gather::rpc
