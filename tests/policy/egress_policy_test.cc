#include "service/policy/egress_policy.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include "gtest/gtest.h"

namespace gather::policy {
namespace {

bool Public(const char* text) {
  auto address = IpAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << text;
  return NonPublicReason(*address).empty();
}

// Every default-deny range with the addresses just inside and just outside its edges.
TEST(NonPublicReasonTest, Ipv4RangesAndEdges) {
  struct Case {
    const char* address;
    bool is_public;
  } cases[] = {
      {"0.0.0.0", false},        {"0.255.255.255", false},  {"1.0.0.0", true},
      {"9.255.255.255", true},   {"10.0.0.0", false},       {"10.255.255.255", false},
      {"11.0.0.0", true},        {"100.63.255.255", true},  {"100.64.0.0", false},
      {"100.127.255.255", false}, {"100.128.0.0", true},    {"126.255.255.255", true},
      {"127.0.0.1", false},      {"127.255.255.255", false}, {"128.0.0.0", true},
      {"169.253.255.255", true}, {"169.254.0.0", false},    {"169.254.169.254", false},
      {"169.254.255.255", false}, {"169.255.0.0", true},    {"172.15.255.255", true},
      {"172.16.0.0", false},     {"172.31.255.255", false}, {"172.32.0.0", true},
      {"192.0.0.0", false},      {"192.0.0.255", false},    {"192.0.1.0", true},
      {"192.0.2.1", false},      {"192.88.99.1", false},    {"192.167.255.255", true},
      {"192.168.0.0", false},    {"192.168.255.255", false}, {"192.169.0.0", true},
      {"198.17.255.255", true},  {"198.18.0.0", false},     {"198.19.255.255", false},
      {"198.20.0.0", true},      {"198.51.100.7", false},   {"203.0.113.9", false},
      {"223.255.255.255", true}, {"224.0.0.0", false},      {"239.255.255.255", false},
      {"240.0.0.0", false},      {"255.255.255.255", false}, {"8.8.8.8", true},
  };
  for (const Case& c : cases) EXPECT_EQ(Public(c.address), c.is_public) << c.address;
}

TEST(NonPublicReasonTest, Ipv6RangesAndEmbeddedIpv4) {
  struct Case {
    const char* address;
    bool is_public;
  } cases[] = {
      {"::", false},
      {"::1", false},
      {"::2", false},                 // IPv4-compatible (deprecated) space
      {"::ffff:127.0.0.1", false},    // IPv4-mapped loopback
      {"::ffff:169.254.169.254", false},
      {"::ffff:10.1.2.3", false},
      {"::ffff:8.8.8.8", true},
      {"64:ff9b::7f00:1", false},     // NAT64 of 127.0.0.1
      {"64:ff9b::a9fe:a9fe", false},  // NAT64 of 169.254.169.254
      {"64:ff9b::808:808", true},     // NAT64 of 8.8.8.8
      {"64:ff9b:1::1", false},        // local-use NAT64
      {"2002:7f00:1::", false},       // 6to4 of 127.0.0.1
      {"2002:c0a8:101::1", false},    // 6to4 of 192.168.1.1
      {"2002:808:808::1", true},      // 6to4 of 8.8.8.8
      {"2001::1", false},             // Teredo
      {"2001:db8::1", false},
      {"fc00::1", false},
      {"fdff:ffff::1", false},
      {"fe80::1", false},
      {"febf::1", false},
      {"fec0::1", false},
      {"ff02::1", false},
      {"100::1", false},
      {"2606:4700::1111", true},
      {"2a00:1450::1", true},
      {"fbff:ffff::1", true},
  };
  for (const Case& c : cases) EXPECT_EQ(Public(c.address), c.is_public) << c.address;
}

TEST(CidrTest, ParsesAndMatches) {
  auto cidr = Cidr::Parse("127.0.0.0/8");
  ASSERT_TRUE(cidr.ok());
  EXPECT_TRUE(cidr->Contains(*IpAddress::Parse("127.1.2.3")));
  EXPECT_FALSE(cidr->Contains(*IpAddress::Parse("128.0.0.1")));
  EXPECT_FALSE(cidr->Contains(*IpAddress::Parse("::1")));
  auto single = Cidr::Parse("127.0.0.2");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->prefix_len, 32);
  EXPECT_TRUE(Cidr::Parse("fe80::/10").ok());
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33").ok());
  EXPECT_FALSE(Cidr::Parse("10.0.0/8").ok());
  EXPECT_FALSE(Cidr::Parse("bogus").ok());
  EXPECT_FALSE(ParseCidrList("10.0.0.0/8, nope").ok());
  EXPECT_EQ(ParseCidrList("10.0.0.0/8, ::1/128,").value().size(), 2u);
}

TEST(EgressPolicyTest, DefaultDenyAllowAndDenyWins) {
  EgressPolicy closed;
  EXPECT_FALSE(closed.Check(*IpAddress::Parse("127.0.0.1")).allowed);
  EXPECT_TRUE(closed.Check(*IpAddress::Parse("8.8.8.8")).allowed);
  EXPECT_NE(closed.Check(*IpAddress::Parse("169.254.169.254")).reason.find("link-local"),
            std::string::npos);

  EgressPolicy policy(ParseCidrList("127.0.0.0/8").value(), ParseCidrList("127.0.0.2/32").value());
  EXPECT_TRUE(policy.Check(*IpAddress::Parse("127.0.0.1")).allowed);
  EXPECT_TRUE(policy.Check(*IpAddress::Parse("::ffff:127.0.0.1")).allowed);
  auto denied = policy.Check(*IpAddress::Parse("127.0.0.2"));
  EXPECT_FALSE(denied.allowed);
  EXPECT_NE(denied.reason.find("--egress_deny"), std::string::npos);
  EXPECT_FALSE(policy.Check(*IpAddress::Parse("::ffff:127.0.0.2")).allowed);
  EXPECT_FALSE(policy.Check(*IpAddress::Parse("10.0.0.1")).allowed);
  EgressPolicy deny_public({}, ParseCidrList("8.8.8.0/24").value());
  EXPECT_FALSE(deny_public.Check(*IpAddress::Parse("8.8.8.8")).allowed);
}

TEST(EgressPolicyTest, ChecksSockaddr) {
  EgressPolicy policy(ParseCidrList("127.0.0.1/32").value(), {});
  sockaddr_in in{};
  in.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  EXPECT_TRUE(policy.Check(reinterpret_cast<sockaddr*>(&in)).allowed);
  inet_pton(AF_INET, "127.0.0.3", &in.sin_addr);
  EXPECT_FALSE(policy.Check(reinterpret_cast<sockaddr*>(&in)).allowed);
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::1", &in6.sin6_addr);
  EXPECT_FALSE(policy.Check(reinterpret_cast<sockaddr*>(&in6)).allowed);
  sockaddr other{};
  other.sa_family = AF_UNIX;
  EXPECT_FALSE(policy.Check(&other).allowed);
}

TEST(HostPatternsTest, ParseAndMatch) {
  auto patterns = HostPatterns::Parse("api.example.com, *.svc.cluster.local");
  ASSERT_TRUE(patterns.ok()) << patterns.status();
  EXPECT_EQ(patterns->Match("api.example.com"), "api.example.com");
  EXPECT_EQ(patterns->Match("db.ns.svc.cluster.local"), "*.svc.cluster.local");
  EXPECT_EQ(patterns->Match("svc.cluster.local"), "");
  EXPECT_EQ(patterns->Match("example.com"), "");
  for (const char* bad : {"*", "a*.b", "*.", ".x", "a b", "x/y"}) {
    EXPECT_FALSE(HostPatterns::Parse(bad).ok()) << bad;
  }
}

TEST(HostPatternsTest, PolicyOrderDenyHostThenCidrsThenAllowHost) {
  EgressPolicy policy(ParseCidrList("10.1.0.0/16").value(), ParseCidrList("10.9.0.0/16").value(),
                      HostPatterns::Parse("*.svc.local").value(),
                      HostPatterns::Parse("metadata.internal,bad.svc.local").value());
  auto ip = [](const char* text) { return IpAddress::Parse(text).value(); };
  EXPECT_TRUE(policy.Check(ip("10.2.3.4"), "db.svc.local").allowed);     // allowed by name
  EXPECT_FALSE(policy.Check(ip("10.2.3.4"), "db.other").allowed);        // private, not allowed
  EXPECT_FALSE(policy.Check(ip("10.9.3.4"), "db.svc.local").allowed);    // deny CIDR wins
  EXPECT_FALSE(policy.Check(ip("8.8.8.8"), "bad.svc.local").allowed);    // deny host wins
  EXPECT_FALSE(policy.Check(ip("169.254.169.254"), "metadata.internal").allowed);
  EXPECT_TRUE(policy.Check(ip("10.1.2.3"), "").allowed);                 // allow CIDR
  EXPECT_TRUE(policy.Check(ip("8.8.8.8"), "example.com").allowed);       // public
  EXPECT_FALSE(policy.CheckHost("metadata.internal").allowed);
}

}  // namespace
}  // namespace gather::policy
