#include "client/lookup/spec.h"

#include <string>
#include <vector>

#include "client/lookup/options.h"
#include "gtest/gtest.h"

namespace gather::client {
namespace {

LookupOptions ValidOptions() {
  LookupOptions options;
  options.url_template = "http://api.example/items/{key}";
  return options;
}

// The error of BuildLookupSpec for `options`; fails the test when the spec was accepted.
std::string SpecError(const LookupOptions& options) {
  std::vector<std::string> names;
  auto spec = BuildLookupSpec(options, &names);
  EXPECT_FALSE(spec.ok());
  if (spec.ok()) return "";
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

std::string OutputsError(const LookupOptions& options) {
  auto plan = ResolveOutputs(options);
  EXPECT_FALSE(plan.ok());
  if (plan.ok()) return "";
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(plan.status().message());
}

TEST(SpecTest, EveryFlagLandsInTheSpec) {
  LookupOptions options = ValidOptions();
  options.method = "post";
  options.fields = {"city=/location/city", "label=/label"};
  options.required = {"/id"};
  options.headers = {"Accept:  application/json "};
  options.credential = "partner-api";
  options.concurrency = 16;
  options.timeout_seconds = 2.5;
  options.max_body_bytes = 4096;
  options.rate = "12.5";
  options.burst = 4;
  options.max_attempts = 5;
  options.no_coalesce = true;
  options.hedge = "150";
  std::vector<std::string> names;
  auto spec = BuildLookupSpec(options, &names);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(names, (std::vector<std::string>{"city", "label"}));
  EXPECT_EQ(spec->url_template(), "http://api.example/items/{key}");
  EXPECT_EQ(spec->method(), "POST");
  ASSERT_EQ(spec->fields_size(), 2);
  EXPECT_EQ(spec->fields(0).name(), "city");
  EXPECT_EQ(spec->fields(0).pointer(), "/location/city");
  EXPECT_EQ(spec->fields(1).pointer(), "/label");
  ASSERT_EQ(spec->required_size(), 1);
  EXPECT_EQ(spec->required(0), "/id");
  ASSERT_EQ(spec->headers_size(), 1);
  EXPECT_EQ(spec->headers(0).name(), "Accept");
  EXPECT_EQ(spec->headers(0).value(), "application/json");
  EXPECT_EQ(spec->credential(), "partner-api");
  const v1::FetchPolicy& policy = spec->policy();
  EXPECT_EQ(policy.concurrency(), 16u);
  EXPECT_DOUBLE_EQ(policy.timeout_seconds(), 2.5);
  EXPECT_EQ(policy.max_body_bytes(), 4096u);
  EXPECT_DOUBLE_EQ(policy.rate(), 12.5);
  EXPECT_FALSE(policy.rate_auto());
  EXPECT_EQ(policy.burst(), 4u);
  EXPECT_EQ(policy.max_attempts(), 5u);
  EXPECT_TRUE(policy.no_coalescing());
  EXPECT_DOUBLE_EQ(policy.hedge_after_ms(), 150);
  EXPECT_FALSE(policy.hedge_auto());
}

TEST(SpecTest, AutoRateAndHedgeAndDefaults) {
  LookupOptions options = ValidOptions();
  std::vector<std::string> names;
  auto plain = BuildLookupSpec(options, &names);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(names.empty());
  EXPECT_EQ(plain->policy().rate(), 0);
  EXPECT_FALSE(plain->policy().rate_auto());
  EXPECT_EQ(plain->policy().hedge_after_ms(), 0);

  options.rate = "auto";
  options.hedge = "auto";
  options.burst = 3;
  auto automatic = BuildLookupSpec(options, &names);
  ASSERT_TRUE(automatic.ok()) << automatic.status();
  EXPECT_TRUE(automatic->policy().rate_auto());
  EXPECT_TRUE(automatic->policy().hedge_auto());
  EXPECT_EQ(automatic->policy().burst(), 3u);
}

TEST(SpecTest, BadFlagsAreNamedInTheError) {
  LookupOptions options = ValidOptions();
  options.url_template = "";
  EXPECT_EQ(SpecError(options), "--template is required");
  options.url_template = "http://{key}.example/items";  // the key may not choose the host
  EXPECT_EQ(SpecError(options).rfind("--template: ", 0), 0u);

  options = ValidOptions();
  options.fields = {"city"};
  EXPECT_EQ(SpecError(options), "--field \"city\": expected NAME=/json/pointer");
  options.fields = {"=/city"};
  EXPECT_EQ(SpecError(options), "--field \"=/city\": expected NAME=/json/pointer");
  options.fields = {"city=location/city"};
  EXPECT_EQ(SpecError(options).rfind("--field city: ", 0), 0u);
  options.fields = {"city=/a", "city=/b"};
  EXPECT_EQ(SpecError(options), "--field city: given twice");
  options.fields = {"seq=/a"};
  EXPECT_EQ(SpecError(options), "--field seq: the name is taken by the output's own column");
  options.fields = {"key=/a"};
  EXPECT_EQ(SpecError(options), "--field key: the name is taken by the output's own column");

  options = ValidOptions();
  options.required = {"id"};
  EXPECT_EQ(SpecError(options).rfind("--require \"id\": ", 0), 0u);

  options = ValidOptions();
  options.headers = {"no colon secret-token"};
  std::string header_error = SpecError(options);
  EXPECT_EQ(header_error, "--header must look like 'Name: value'");
  EXPECT_EQ(header_error.find("secret-token"), std::string::npos);

  options = ValidOptions();
  options.timeout_seconds = -1;
  EXPECT_EQ(SpecError(options), "--timeout must be >= 0");
  options = ValidOptions();
  options.deadline_seconds = -1;
  EXPECT_EQ(SpecError(options), "--deadline must be >= 0");

  for (const char* rate : {"fast", "-1", "inf", "nan"}) {
    options = ValidOptions();
    options.rate = rate;
    EXPECT_EQ(SpecError(options), "--rate must be a number of requests per second or auto")
        << rate;
  }
  options = ValidOptions();
  options.burst = 5;
  EXPECT_EQ(SpecError(options), "--burst needs --rate");

  for (const char* hedge : {"soon", "0", "-5", "inf"}) {
    options = ValidOptions();
    options.hedge = hedge;
    EXPECT_EQ(SpecError(options), "--hedge must be a delay in milliseconds or auto") << hedge;
  }
}

TEST(ResolveOutputsTest, FormatFollowsTheFlagOrTheFileName) {
  LookupOptions options;
  options.out = "res.csv";
  auto csv = ResolveOutputs(options);
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_EQ(csv->format, OutputFormat::kCsv);
  EXPECT_EQ(csv->out, "res.csv");
  EXPECT_EQ(csv->errors, "res.errors.csv");

  options.out = "res.jsonl";
  auto jsonl = ResolveOutputs(options);
  ASSERT_TRUE(jsonl.ok()) << jsonl.status();
  EXPECT_EQ(jsonl->format, OutputFormat::kJsonl);
  EXPECT_EQ(jsonl->errors, "");

  options.out = "table";
  options.format = "CSV";
  auto named = ResolveOutputs(options);
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->format, OutputFormat::kCsv);
  EXPECT_EQ(named->errors, "table.errors.csv");

  options.out = "-";  // CSV on stdout: failures to stderr unless --errors is given
  auto stdout_csv = ResolveOutputs(options);
  ASSERT_TRUE(stdout_csv.ok()) << stdout_csv.status();
  EXPECT_EQ(stdout_csv->errors, "");

  options.out = "";
  options.format = "";
  options.errors = "failed.jsonl";
  auto empty_out = ResolveOutputs(options);
  ASSERT_TRUE(empty_out.ok()) << empty_out.status();
  EXPECT_EQ(empty_out->out, "-");
  EXPECT_EQ(empty_out->errors, "failed.jsonl");
}

TEST(ResolveOutputsTest, BadFlagsAreNamedInTheError) {
  LookupOptions options;
  options.format = "xml";
  EXPECT_EQ(OutputsError(options), "--format must be jsonl or csv");

  options = LookupOptions();
  options.out = "res.jsonl";
  options.errors = "res.jsonl";
  EXPECT_EQ(OutputsError(options), "--errors must differ from --out");

  options = LookupOptions();
  options.resume = true;
  EXPECT_EQ(OutputsError(options), "--resume needs --out FILE (it reads what is already there)");

  options.out = "res.jsonl";
  options.errors = "-";
  EXPECT_EQ(OutputsError(options), "--resume needs --errors to be a file");

  options.errors = "";
  EXPECT_TRUE(ResolveOutputs(options).ok());
}

}  // namespace
}  // namespace gather::client
