#include "service/auth/credential_profiles.h"

#include "gtest/gtest.h"

namespace gather::auth {
namespace {

TEST(CredentialProfilesTest, ParsesHostsAndHeaders) {
  auto profiles = CredentialProfiles::Parse(R"({
    "places-api": {"hosts": ["api.places.example", "*.cdn.example"],
                   "headers": {"Authorization": "Bearer s3cret-places", "X-Client": "gather"}},
    "wiki": {"hosts": ["127.0.0.1"], "headers": {"X-Api-Key": "k3y"}}
  })");
  ASSERT_TRUE(profiles.ok()) << profiles.status();
  EXPECT_EQ(profiles->size(), 2u);
  const CredentialProfile* places = profiles->Find("places-api");
  ASSERT_NE(places, nullptr);
  EXPECT_EQ(places->name, "places-api");
  ASSERT_EQ(places->headers.size(), 2u);
  EXPECT_EQ(places->headers[0].first, "Authorization");
  EXPECT_EQ(places->headers[0].second, "Bearer s3cret-places");
  EXPECT_FALSE(places->hosts.Match("api.places.example").empty());
  EXPECT_FALSE(places->hosts.Match("a.cdn.example").empty());
  EXPECT_TRUE(places->hosts.Match("evil.example").empty());
  EXPECT_TRUE(places->hosts.Match("api.places.example.evil").empty());
  EXPECT_EQ(profiles->Find("nope"), nullptr);
}

TEST(CredentialProfilesTest, ErrorsNeverShowHeaderValues) {
  const char* cases[] = {
      R"({"p": {"hosts": ["h"], "headers": {"Authorization": "Bearer SECRET\r\nX: y"}}})",
      R"({"p": {"hosts": ["h"], "headers": {"Bad Name": "SECRET"}}})",
      R"({"p": {"hosts": [], "headers": {"A": "SECRET"}}})",
      R"({"p": {"headers": {"A": "SECRET"}}})",
      R"({"p": {"hosts": ["*"], "headers": {"A": "SECRET"}}})",
      R"({"p": {"hosts": ["a,b"], "headers": {"A": "SECRET"}}})",
      R"({"p": {"hosts": ["h"], "headers": {}}})",
      R"({"p": {"hosts": ["h"], "headers": {"A": 1}}})",
      R"({"p": {"hosts": ["h"], "headers": {"A": "SECRET"}, "extra": 1}})",
      R"({"bad name": {"hosts": ["h"], "headers": {"A": "SECRET"}}})",
      R"({"p": {"hosts": ["h"], "headers": {"A": "SECRET")",
      R"(["SECRET"])",
  };
  for (const char* json : cases) {
    auto profiles = CredentialProfiles::Parse(json);
    ASSERT_FALSE(profiles.ok()) << json;
    EXPECT_EQ(profiles.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(profiles.status().message().find("SECRET"), absl::string_view::npos)
        << profiles.status();
  }
}

}  // namespace
}  // namespace gather::auth
