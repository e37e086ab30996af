#include "service/policy/host_rates.h"

#include "gtest/gtest.h"

namespace gather::policy {
namespace {

TEST(HostRatesTest, ParsesAndMatchesExactSuffixAndDefault) {
  auto rates = ParseHostRates("api.example.com=100:10, *.example.org=50,*.deep.example.org=5,*=200");
  ASSERT_TRUE(rates.ok()) << rates.status();
  ASSERT_EQ(rates->size(), 4u);
  EXPECT_EQ(MatchHostRate(*rates, "api.example.com")->rate, 100);
  EXPECT_EQ(MatchHostRate(*rates, "api.example.com")->burst, 10);
  EXPECT_EQ(MatchHostRate(*rates, "a.example.org")->rate, 50);
  EXPECT_EQ(MatchHostRate(*rates, "x.deep.example.org")->rate, 5);
  EXPECT_EQ(MatchHostRate(*rates, "example.org")->rate, 200);  // "*.example.org" needs a label
  EXPECT_EQ(MatchHostRate(*rates, "other.net")->rate, 200);
  auto none = ParseHostRates("api.example.com=1");
  EXPECT_FALSE(MatchHostRate(*none, "other.net").has_value());
}

TEST(HostRatesTest, RejectsBadEntries) {
  for (const char* bad : {"api.example.com", "=5", "h=0", "h=-1", "h=abc", "h=5:0", "a*b.com=5",
                          "*.*.com=5"}) {
    EXPECT_FALSE(ParseHostRates(bad).ok()) << bad;
  }
  EXPECT_TRUE(ParseHostRates("").ok());
}

}  // namespace
}  // namespace gather::policy
