#include "service/extract/url_template.h"

#include "gtest/gtest.h"

namespace gather::extract {
namespace {

TEST(PercentEncodeTest, KeepsUnreservedEncodesTheRest) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b/c?d&e=f#g%"), "a%20b%2Fc%3Fd%26e%3Df%23g%25");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");
}

TEST(UrlTemplateTest, ExpandsEveryPlaceholder) {
  auto tmpl = UrlTemplate::Parse("http://h:8080/api/{key}?q={key}&x=1");
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  EXPECT_EQ(tmpl->Expand("a/b"), "http://h:8080/api/a%2Fb?q=a%2Fb&x=1");
}

TEST(UrlTemplateTest, RejectsBadTemplates) {
  EXPECT_FALSE(UrlTemplate::Parse("http://h/api/").ok());          // no {key}
  EXPECT_FALSE(UrlTemplate::Parse("http://{key}.example/").ok());  // key in host
  EXPECT_FALSE(UrlTemplate::Parse("http://user@h{key}:80/").ok());
  EXPECT_FALSE(UrlTemplate::Parse("{key}://h/").ok());
  EXPECT_FALSE(UrlTemplate::Parse("ftp://h/{key}").ok());
  EXPECT_FALSE(UrlTemplate::Parse("/relative/{key}").ok());
  auto host = UrlTemplate::Parse("https://{key}/x");
  EXPECT_NE(host.status().message().find("host"), std::string::npos);
}

TEST(ValidateHttpUrlTest, AcceptsHttpAndHttpsOnly) {
  EXPECT_TRUE(ValidateHttpUrl("http://127.0.0.1:1/x").ok());
  EXPECT_TRUE(ValidateHttpUrl("HTTPS://Example.org").ok());
  EXPECT_FALSE(ValidateHttpUrl("").ok());
  EXPECT_FALSE(ValidateHttpUrl("file:///etc/passwd").ok());
  EXPECT_FALSE(ValidateHttpUrl("gopher://h/").ok());
  EXPECT_FALSE(ValidateHttpUrl("not a url").ok());
  EXPECT_FALSE(ValidateHttpUrl("http://").ok());
}

TEST(HostOfTest, ExtractsLowerCaseHost) {
  EXPECT_EQ(HostOf("http://User@Example.ORG:8080/a"), "example.org");
  EXPECT_EQ(HostOf("https://[::1]:443/"), "::1");
  EXPECT_EQ(HostOf("http://127.0.0.1/x"), "127.0.0.1");
}

}  // namespace
}  // namespace gather::extract
