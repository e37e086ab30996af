#include "common/url_template.h"

#include <string>

#include "gtest/gtest.h"

namespace gather::common {
namespace {

TEST(UrlTemplateTest, ExpandsEveryPlaceholder) {
  auto tmpl = UrlTemplate::ParseSyntax("http://h:8080/api/{key}?q={key}&x=1");
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  EXPECT_EQ(tmpl->Expand("a/b"), "http://h:8080/api/a%2Fb?q=a%2Fb&x=1");
}

TEST(UrlTemplateTest, RejectsBadTemplates) {
  EXPECT_FALSE(UrlTemplate::ParseSyntax("http://h/api/").ok());          // no {key}
  EXPECT_FALSE(UrlTemplate::ParseSyntax("http://{key}.example/").ok());  // key in host
  EXPECT_FALSE(UrlTemplate::ParseSyntax("http://user@h{key}:80/").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("{key}://h/").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("ftp://h/{key}").ok());
  EXPECT_FALSE(UrlTemplate::ParseSyntax("/relative/{key}").ok());
  auto host = UrlTemplate::ParseSyntax("https://{key}/x");
  EXPECT_NE(host.status().message().find("host"), std::string::npos);
}

}  // namespace
}  // namespace gather::common
