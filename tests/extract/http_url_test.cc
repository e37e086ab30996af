#include "service/extract/http_url.h"

#include <string>

#include "gtest/gtest.h"

namespace gather::extract {
namespace {

using common::UrlTemplate;

TEST(ValidateHttpUrlTest, AcceptsHttpAndHttpsOnly) {
  EXPECT_TRUE(ValidateHttpUrl("http://127.0.0.1:1/x").ok());
  EXPECT_TRUE(ValidateHttpUrl("HTTPS://Example.org").ok());
  EXPECT_FALSE(ValidateHttpUrl("").ok());
  EXPECT_FALSE(ValidateHttpUrl("file:///etc/passwd").ok());
  EXPECT_FALSE(ValidateHttpUrl("gopher://h/").ok());
  EXPECT_FALSE(ValidateHttpUrl("not a url").ok());
  EXPECT_FALSE(ValidateHttpUrl("http://").ok());
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
  EXPECT_FALSE(ParseUrlTemplate("http:/{key}/x").ok());
  EXPECT_FALSE(ParseUrlTemplate("http:///{key}/x").ok());
  EXPECT_FALSE(ParseUrlTemplate("http://h/{key}\0\x01"s).ok());
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
  EXPECT_FALSE(ParseUrlTemplate("http://127.1/{key}").ok());
}

}  // namespace
}  // namespace gather::extract
