#include "service/extract/url_template.h"

#include <string>

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

TEST(ValidateHttpUrlTest, HostMustBeTheOneCurlConnectsTo) {
  using std::string_literals::operator""s;
  // Found by fuzz_url_template: curl stops at a NUL, takes "http:/h" and "http:///h" as host h,
  // and decodes the host, while egress, host rate and credential checks use HostOf().
  EXPECT_FALSE(ValidateHttpUrl("http://evil.example\0.api.example/x"s).ok());
  EXPECT_FALSE(ValidateHttpUrl("http://h/x\0y"s).ok());
  EXPECT_FALSE(ValidateHttpUrl("http:/evil.example/x").ok());
  EXPECT_FALSE(ValidateHttpUrl("http:///evil.example/x").ok());
  EXPECT_FALSE(ValidateHttpUrl("http://%61pi.example/x").ok());
  EXPECT_FALSE(ValidateHttpUrl("http://127.1/x").ok());
  EXPECT_TRUE(ValidateHttpUrl("http://[fe80::1%25eth0]:8080/x").ok());
  EXPECT_TRUE(ValidateHttpUrl("http://[2001:DB8:0:0::1]/x").ok());  // curl: [2001:db8::1]
  EXPECT_TRUE(ValidateHttpUrl("http://u:p@Example.ORG:81/x?y#z").ok());
}

TEST(UrlTemplateTest, KeyCannotReachTheHostWithoutDoubleSlash) {
  using std::string_literals::operator""s;
  EXPECT_FALSE(UrlTemplate::Parse("http:/{key}/x").ok());
  EXPECT_FALSE(UrlTemplate::Parse("http:///{key}/x").ok());
  EXPECT_FALSE(UrlTemplate::Parse("http://h/{key}\0\x01"s).ok());
}

TEST(UrlTemplateTest, ParseSyntaxChecksAllButCurlsReading) {
  EXPECT_TRUE(UrlTemplate::ParseSyntax("HTTPS://h:8080/api/{key}").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("http://h/api/").ok());      // no {key}
  EXPECT_FALSE(UrlTemplate::ParseSyntax("http://{key}.example/").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("ftp://h/{key}").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("/relative/{key}").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("http:/{key}/x").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("http:///{key}/x").ok());
  // Only curl's reading finds these: Parse refuses them, gatherd answers INVALID_ARGUMENT.
  EXPECT_TRUE(UrlTemplate::ParseSyntax("http://127.1/{key}").ok());
  EXPECT_FALSE(UrlTemplate::Parse("http://127.1/{key}").ok());
}

}  // namespace
}  // namespace gather::extract
