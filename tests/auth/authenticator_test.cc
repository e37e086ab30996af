#include "service/auth/authenticator.h"

#include <stdio.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace gather::auth {
namespace {

constexpr char kEtl[] = "etl-token-0123456789abcdef";
constexpr char kNew[] = "new-token-0123456789abcdef";

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/gather-auth-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::remove((dir_ + "/tokens").c_str());
    std::remove((dir_ + "/tokens.tmp").c_str());
    std::remove((dir_ + "/profiles.json").c_str());
    rmdir(dir_.c_str());
  }
  // Replaces the file the way a Kubernetes Secret update does: a new file renamed over the old.
  void Write(const std::string& name, const std::string& text) {
    std::string tmp = dir_ + "/" + name + ".tmp";
    std::ofstream(tmp) << text;
    ASSERT_EQ(std::rename(tmp.c_str(), (dir_ + "/" + name).c_str()), 0);
  }
  static CallCredentials Bearer(absl::string_view token) {
    CallCredentials call;
    storage_ = absl::StrCat("Bearer ", token);
    call.authorization = storage_;
    return call;
  }
  std::string dir_;
  static inline std::string storage_;
};

TEST_F(AuthenticatorTest, WithoutTokensEveryCallerIsServed) {
  auto auth = Authenticator::Create(AuthOptions{});
  ASSERT_TRUE(auth.ok());
  auto caller = (*auth)->Authenticate(CallCredentials{});
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "anonymous");
  EXPECT_FALSE((*auth)->tokens_required());
}

TEST_F(AuthenticatorTest, TokensRefuseMissingMalformedAndWrongOnes) {
  Write("tokens", absl::StrCat("etl ", kEtl, "\n"));
  auto auth = Authenticator::Create(AuthOptions{dir_ + "/tokens", "", "", false});
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ((*auth)->Authenticate(CallCredentials{}).status().code(),
            absl::StatusCode::kUnauthenticated);
  CallCredentials basic;
  basic.authorization = "Basic dXNlcjpwYXNz";
  EXPECT_EQ((*auth)->Authenticate(basic).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ((*auth)->Authenticate(Bearer("wrong-token-0123456789abcdef")).status().code(),
            absl::StatusCode::kUnauthenticated);
  auto caller = (*auth)->Authenticate(Bearer(kEtl));
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "etl");
  CallCredentials lower;
  std::string text = absl::StrCat("bearer   ", kEtl);
  lower.authorization = text;
  EXPECT_TRUE((*auth)->Authenticate(lower).ok());
}

TEST_F(AuthenticatorTest, ClientCertificateRequiredBeforeTokens) {
  auto auth = Authenticator::Create(AuthOptions{"", kEtl, "", true});
  ASSERT_TRUE(auth.ok()) << auth.status();
  CallCredentials call = Bearer(kEtl);
  EXPECT_EQ((*auth)->Authenticate(call).status().code(), absl::StatusCode::kUnauthenticated);
  call.verified_client_cert = true;
  call.cert_subject = "etl-client";
  auto caller = (*auth)->Authenticate(call);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "env");
}

TEST_F(AuthenticatorTest, RefreshPicksUpRotatedTokensAndKeepsThemOnABadFile) {
  Write("tokens", absl::StrCat("etl ", kEtl, "\n"));
  auto auth = Authenticator::Create(AuthOptions{dir_ + "/tokens", "", "", false});
  ASSERT_TRUE(auth.ok());
  EXPECT_TRUE((*auth)->Refresh().empty());  // unchanged

  Write("tokens", absl::StrCat("etl ", kNew, "\n"));
  std::vector<std::string> log = (*auth)->Refresh();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("reloaded"), std::string::npos);
  EXPECT_FALSE((*auth)->Authenticate(Bearer(kEtl)).ok());
  EXPECT_TRUE((*auth)->Authenticate(Bearer(kNew)).ok());

  Write("tokens", "etl short-token\n");
  log = (*auth)->Refresh();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("keeping the previous tokens"), std::string::npos);
  EXPECT_EQ(log[0].find("short-token"), std::string::npos);
  EXPECT_TRUE((*auth)->Authenticate(Bearer(kNew)).ok());
  EXPECT_TRUE((*auth)->Refresh().empty());  // a bad file is reported once
}

TEST_F(AuthenticatorTest, ProfilesLoadAndReload) {
  Write("profiles.json", R"({"a": {"hosts": ["h"], "headers": {"X-Key": "one"}}})");
  auto auth = Authenticator::Create(AuthOptions{"", "", dir_ + "/profiles.json", false});
  ASSERT_TRUE(auth.ok()) << auth.status();
  std::shared_ptr<const CredentialProfiles> before = (*auth)->profiles();
  ASSERT_NE(before->Find("a"), nullptr);
  Write("profiles.json", R"({"b": {"hosts": ["h"], "headers": {"X-Key": "two"}}})");
  EXPECT_EQ((*auth)->Refresh().size(), 1u);
  EXPECT_EQ((*auth)->profiles()->Find("a"), nullptr);
  ASSERT_NE((*auth)->profiles()->Find("b"), nullptr);
  EXPECT_NE(before->Find("a"), nullptr);  // a call that took the old set keeps it
}

TEST_F(AuthenticatorTest, BadFilesAtStartNameTheFlag) {
  auto missing = Authenticator::Create(AuthOptions{dir_ + "/absent", "", "", false});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--token_file"), absl::string_view::npos);
  Write("tokens", "# nobody\n");
  auto empty = Authenticator::Create(AuthOptions{dir_ + "/tokens", "", "", false});
  ASSERT_FALSE(empty.ok());
  Write("profiles.json", "{");
  auto bad = Authenticator::Create(AuthOptions{"", "", dir_ + "/profiles.json", false});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--credentials_file"), absl::string_view::npos);
  auto short_env = Authenticator::Create(AuthOptions{"", "short", "", false});
  ASSERT_FALSE(short_env.ok());
  EXPECT_NE(short_env.status().message().find("GATHERD_TOKEN"), absl::string_view::npos);
  EXPECT_EQ(short_env.status().message().find("short\""), absl::string_view::npos);
}

}  // namespace
}  // namespace gather::auth
