// Requests that name a credential profile: resolution, permission, header merge, host checks.
#include <memory>

#include "gtest/gtest.h"
#include "service/rpc/lookup_request.h"
#include "service/rpc/rank_request.h"
#include "service/rpc/request_common.h"

namespace gather::rpc {
namespace {

std::shared_ptr<const auth::CredentialProfiles> Profiles() {
  auto profiles = auth::CredentialProfiles::Parse(R"({
    "places-api": {"hosts": ["api.places.example", "127.0.0.1"],
                   "headers": {"Authorization": "Bearer SECRET-PLACES"}}
  })");
  EXPECT_TRUE(profiles.ok()) << profiles.status();
  return std::make_shared<const auth::CredentialProfiles>(*std::move(profiles));
}

auth::Caller Anyone() { return auth::Caller{"etl", true, {}}; }

TEST(CredentialRequestTest, ResolvesKnownProfilesForCallersAllowedToUseThem) {
  auto profiles = Profiles();
  auto none = ResolveCredential("", "spec.credential", Anyone(), profiles);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);

  auto found = ResolveCredential("places-api", "spec.credential", Anyone(), profiles);
  ASSERT_TRUE(found.ok());
  ASSERT_NE(*found, nullptr);
  EXPECT_EQ((*found)->name, "places-api");

  auto unknown = ResolveCredential("nope", "spec.credential", Anyone(), profiles);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("spec.credential"), absl::string_view::npos);

  auth::Caller limited{"bi", false, {"wiki"}};
  auto denied = ResolveCredential("places-api", "credential", limited, profiles);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("\"bi\""), absl::string_view::npos);

  auto no_profiles = ResolveCredential("places-api", "credential", Anyone(), nullptr);
  EXPECT_EQ(no_profiles.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CredentialRequestTest, LookupPlanAddsTheHeadersAndRefusesRedirects) {
  auto profile = ResolveCredential("places-api", "spec.credential", Anyone(), Profiles());
  ASSERT_TRUE(profile.ok());
  v1::LookupSpec spec;
  spec.set_url_template("https://api.places.example/v1/places/{key}");
  auto* header = spec.add_headers();
  header->set_name("Accept");
  header->set_value("application/json");
  auto plan = BuildLookupPlan(spec, config::Limits{}, profile->get());
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_NE(plan->headers, nullptr);
  EXPECT_NE(plan->headers->signature().find("Authorization: Bearer SECRET-PLACES"),
            std::string::npos);
  EXPECT_NE(plan->headers->signature().find("Accept: application/json"), std::string::npos);
  EXPECT_TRUE(plan->policy.no_redirects);
  fetch::FetchRequest request;
  ApplyPolicy(plan->policy, request);
  EXPECT_TRUE(request.no_redirects);

  auto plain = BuildLookupPlan(spec, config::Limits{});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->policy.no_redirects);
}

TEST(CredentialRequestTest, LookupPlanRefusesOtherHostsAndConflictingHeaders) {
  auto profile = ResolveCredential("places-api", "spec.credential", Anyone(), Profiles());
  ASSERT_TRUE(profile.ok());
  v1::LookupSpec spec;
  spec.set_url_template("https://attacker.example/collect?k={key}");
  auto plan = BuildLookupPlan(spec, config::Limits{}, profile->get());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(plan.status().message().find("spec.url_template"), absl::string_view::npos);
  EXPECT_NE(plan.status().message().find("attacker.example"), absl::string_view::npos);

  // A look-alike host that merely starts with an allowed name.
  spec.set_url_template("https://api.places.example.attacker.example/{key}");
  EXPECT_EQ(BuildLookupPlan(spec, config::Limits{}, profile->get()).status().code(),
            absl::StatusCode::kPermissionDenied);

  spec.set_url_template("https://api.places.example/{key}");
  auto* header = spec.add_headers();
  header->set_name("authorization");
  header->set_value("Bearer mine");
  auto conflict = BuildLookupPlan(spec, config::Limits{}, profile->get());
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(conflict.status().message().find("spec.headers[0].name"), absl::string_view::npos);
  EXPECT_EQ(conflict.status().message().find("SECRET"), absl::string_view::npos);
}

TEST(CredentialRequestTest, RankPlanChecksEveryJobAndTheDiscoveryHosts) {
  auto profile = ResolveCredential("places-api", "credential", Anyone(), Profiles());
  ASSERT_TRUE(profile.ok());
  v1::FetchAndRankRequest request;
  request.mutable_score()->set_values_pointer("/v");
  request.mutable_score()->set_row_reducer(v1::REDUCER_MEAN);
  request.mutable_score()->set_across_reducer(v1::REDUCER_MEAN);
  request.add_jobs()->set_url("http://127.0.0.1:8080/a");
  auto* job = request.add_jobs();
  job->set_url("http://127.0.0.1:8080/b");
  auto* own = job->add_headers();
  own->set_name("X-Trace");
  own->set_value("1");
  auto plan = BuildRankPlan(request, config::Limits{}, profile->get());
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->jobs.size(), 2u);
  for (const RankJob& rank_job : plan->jobs) {
    ASSERT_NE(rank_job.headers, nullptr);
    EXPECT_NE(rank_job.headers->signature().find("SECRET-PLACES"), std::string::npos);
  }
  EXPECT_NE(plan->jobs[1].headers->signature().find("X-Trace: 1"), std::string::npos);
  EXPECT_TRUE(plan->policy.no_redirects);

  request.add_jobs()->set_url("http://10.0.0.9/c");
  auto denied = BuildRankPlan(request, config::Limits{}, profile->get());
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("jobs[2].url"), absl::string_view::npos);

  job->mutable_headers(0)->set_name("Authorization");
  request.mutable_jobs()->RemoveLast();
  auto conflict = BuildRankPlan(request, config::Limits{}, profile->get());
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(conflict.status().message().find("jobs[1].headers[0].name"), absl::string_view::npos);

  v1::FetchAndRankRequest discovery;
  *discovery.mutable_score() = request.score();
  discovery.mutable_discovery()->set_index_url("http://127.0.0.1:8080/index");
  discovery.mutable_discovery()->set_keys_pointer("/keys");
  discovery.mutable_discovery()->set_url_template("http://elsewhere.example/{key}");
  auto template_denied = BuildRankPlan(discovery, config::Limits{}, profile->get());
  EXPECT_EQ(template_denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(template_denied.status().message().find("discovery.url_template"),
            absl::string_view::npos);
  discovery.mutable_discovery()->set_url_template("http://127.0.0.1:8080/{key}");
  EXPECT_TRUE(BuildRankPlan(discovery, config::Limits{}, profile->get()).ok());
  discovery.mutable_discovery()->set_index_url("http://elsewhere.example/index");
  EXPECT_EQ(BuildRankPlan(discovery, config::Limits{}, profile->get()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace gather::rpc
