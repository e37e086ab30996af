#include "common/url.h"

#include <string>

#include "gtest/gtest.h"

namespace gather::common {
namespace {

TEST(PercentEncodeTest, KeepsUnreservedEncodesTheRest) {
  EXPECT_EQ(PercentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(PercentEncode("a b/c?d&e=f#g%"), "a%20b%2Fc%3Fd%26e%3Df%23g%25");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");
}

TEST(HostOfTest, ExtractsLowerCaseHost) {
  EXPECT_EQ(HostOf("http://User@Example.ORG:8080/a"), "example.org");
  EXPECT_EQ(HostOf("https://[::1]:443/"), "::1");
  EXPECT_EQ(HostOf("http://127.0.0.1/x"), "127.0.0.1");
}

}  // namespace
}  // namespace gather::common
