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
  EXPECT_FALSE(plan->head);
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
  spec.set_method("POST");
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
  EXPECT_TRUE(plan->head);
  EXPECT_FALSE(plan->parses_body());
}

TEST(LookupRequestTest, KeysExpandOrSayWhyNot) {
  auto plan = BuildLookupPlan(GoodSpec(), config::Limits());
  ASSERT_TRUE(plan.ok());
  config::Limits limits;
  std::string url;
  EXPECT_EQ(ExpandKey(*plan, "a b/c", limits, url), std::nullopt);
  EXPECT_EQ(url, "https://api.example/api/v2/entities/a%20b%2Fc?select=id,label");
  EXPECT_EQ(ExpandKey(*plan, "", limits, url), "empty key");
  auto long_key = ExpandKey(*plan, std::string(100 * 1024, 'k'), limits, url);
  ASSERT_TRUE(long_key.has_value());
  EXPECT_NE(long_key->find("longer than 8192"), std::string::npos);
  // Percent-encoding triples the length: 3000 bytes of spaces make a URL over 8192.
  EXPECT_TRUE(ExpandKey(*plan, std::string(3000, ' '), limits, url).has_value());
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
