#include "service/fetch/redirect.h"

#include "gtest/gtest.h"
#include "service/fetch/fetch_types.h"

namespace gather::fetch {
namespace {

TEST(RedirectTest, OriginIsSchemeHostAndPort) {
  auto same = NextHop("http://api.example/a", "http://API.example:80/b?x=1");
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->same_origin);
  EXPECT_FALSE(NextHop("http://api.example/a", "http://other.example/a")->same_origin);
  EXPECT_FALSE(NextHop("http://api.example/a", "http://api.example:8080/a")->same_origin);
  EXPECT_FALSE(NextHop("http://api.example/a", "https://api.example/a")->same_origin);
  EXPECT_FALSE(NextHop("http://127.0.0.1:9/a", "http://127.0.0.2:9/a")->same_origin);
}

TEST(RedirectTest, OnlyHttpAndHttpsAreFollowed) {
  EXPECT_FALSE(NextHop("http://api.example/a", "ftp://api.example/a").ok());
  EXPECT_FALSE(NextHop("http://api.example/a", "file:///etc/passwd").ok());
  EXPECT_FALSE(NextHop("http://api.example/a", "gopher://x/").ok());
  EXPECT_TRUE(NextHop("http://api.example/a", "HTTPS://api.example/a").ok());
}

TEST(RedirectTest, FollowedStatuses) {
  for (int status : {301, 302, 303, 307, 308}) EXPECT_TRUE(IsFollowedRedirect(status)) << status;
  for (int status : {200, 300, 304, 305, 404}) EXPECT_FALSE(IsFollowedRedirect(status)) << status;
}

TEST(RedirectTest, AnotherOriginGetsNoCredentialHeaders) {
  HeaderSet headers({{"Authorization", "Bearer s3cret"},
                     {"X-Api-Key", "k"},
                     {"Cookie", "session=1"},
                     {"Accept", "application/json"},
                     {"user-agent", "mine"}});
  auto safe = headers.RedirectSafe();
  EXPECT_EQ(safe->signature(), "Accept: application/json\nuser-agent: mine\n");
  EXPECT_TRUE(IsRedirectSafeHeader("content-type"));
  EXPECT_FALSE(IsRedirectSafeHeader("proxy-authorization"));
}

}  // namespace
}  // namespace gather::fetch
