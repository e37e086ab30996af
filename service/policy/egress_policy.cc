#include "service/policy/egress_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gather::policy {
namespace {

struct Range {
  bool v6;
  std::array<uint8_t, 16> base;
  int prefix_len;
  absl::string_view reason;
};

bool PrefixMatches(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, int bits) {
  int full = bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

constexpr std::array<uint8_t, 16> V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
}

const Range kV4Ranges[] = {
    {false, V4(0, 0, 0, 0), 8, "\"this network\" address (0.0.0.0/8)"},
    {false, V4(10, 0, 0, 0), 8, "private address (10.0.0.0/8)"},
    {false, V4(100, 64, 0, 0), 10, "carrier-grade NAT address (100.64.0.0/10)"},
    {false, V4(127, 0, 0, 0), 8, "loopback address (127.0.0.0/8)"},
    {false, V4(169, 254, 0, 0), 16, "link-local address (169.254.0.0/16, cloud metadata)"},
    {false, V4(172, 16, 0, 0), 12, "private address (172.16.0.0/12)"},
    {false, V4(192, 0, 0, 0), 24, "IETF protocol assignment (192.0.0.0/24)"},
    {false, V4(192, 0, 2, 0), 24, "documentation address (192.0.2.0/24)"},
    {false, V4(192, 88, 99, 0), 24, "6to4 relay anycast (192.88.99.0/24)"},
    {false, V4(192, 168, 0, 0), 16, "private address (192.168.0.0/16)"},
    {false, V4(198, 18, 0, 0), 15, "benchmarking address (198.18.0.0/15)"},
    {false, V4(198, 51, 100, 0), 24, "documentation address (198.51.100.0/24)"},
    {false, V4(203, 0, 113, 0), 24, "documentation address (203.0.113.0/24)"},
    {false, V4(224, 0, 0, 0), 4, "multicast address (224.0.0.0/4)"},
    {false, V4(240, 0, 0, 0), 4, "reserved address (240.0.0.0/4, incl. broadcast)"},
};

constexpr std::array<uint8_t, 16> V6(uint16_t a, uint16_t b, uint16_t c = 0, uint16_t d = 0) {
  return {static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a), static_cast<uint8_t>(b >> 8),
          static_cast<uint8_t>(b), static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(c),
          static_cast<uint8_t>(d >> 8), static_cast<uint8_t>(d), 0, 0, 0, 0, 0, 0, 0, 0};
}

const Range kV6Ranges[] = {
    {true, V6(0, 0), 96, "IPv4-compatible or unspecified IPv6 address (::/96)"},
    {true, V6(0x0100, 0), 64, "discard-only IPv6 address (100::/64)"},
    {true, V6(0x2001, 0), 32, "Teredo address (2001::/32)"},
    {true, V6(0x2001, 0x0db8), 32, "documentation address (2001:db8::/32)"},
    {true, V6(0xfc00, 0), 7, "unique local IPv6 address (fc00::/7)"},
    {true, V6(0xfe80, 0), 10, "link-local IPv6 address (fe80::/10)"},
    {true, V6(0xfec0, 0), 10, "site-local IPv6 address (fec0::/10)"},
    {true, V6(0xff00, 0), 8, "multicast IPv6 address (ff00::/8)"},
};

absl::string_view V4Reason(const IpAddress& v4) {
  for (const Range& range : kV4Ranges) {
    if (PrefixMatches(v4.bytes, range.base, range.prefix_len)) return range.reason;
  }
  if (v4.bytes[0] == 255 && v4.bytes[1] == 255 && v4.bytes[2] == 255 && v4.bytes[3] == 255) {
    return "broadcast address";
  }
  return {};
}

IpAddress EmbeddedV4(const IpAddress& v6, int offset) {
  IpAddress v4;
  std::memcpy(v4.bytes.data(), v6.bytes.data() + offset, 4);
  return v4;
}

bool IsV4Mapped(const IpAddress& a) {
  static constexpr std::array<uint8_t, 16> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return a.v6 && PrefixMatches(a.bytes, kMapped, 96);
}

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  std::string copy(absl::StripPrefix(absl::StripSuffix(text, "]"), "["));
  IpAddress address;
  if (inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) return address;
  if (inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
    address.v6 = true;
    return address;
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IP address"));
}

bool IpAddress::FromSockaddr(const sockaddr* addr, IpAddress& out) {
  if (addr == nullptr) return false;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    out = IpAddress{};
    std::memcpy(out.bytes.data(), &in->sin_addr, 4);
    return true;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    out = IpAddress{};
    out.v6 = true;
    std::memcpy(out.bytes.data(), &in6->sin6_addr, 16);
    return true;
  }
  return false;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof(buffer));
  return buffer;
}

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  Cidr cidr;
  absl::string_view address_text = text;
  size_t slash = text.find('/');
  if (slash != absl::string_view::npos) address_text = text.substr(0, slash);
  auto address = IpAddress::Parse(address_text);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a CIDR"));
  }
  cidr.base = *address;
  int max_len = cidr.base.v6 ? 128 : 32;
  cidr.prefix_len = max_len;
  if (slash != absl::string_view::npos) {
    int len = -1;
    if (!absl::SimpleAtoi(text.substr(slash + 1), &len) || len < 0 || len > max_len) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" has a bad prefix length (0..", max_len, ")"));
    }
    cidr.prefix_len = len;
  }
  return cidr;
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.v6 != base.v6) return false;
  return PrefixMatches(address.bytes, base.bytes, prefix_len);
}

std::string Cidr::ToString() const { return absl::StrCat(base.ToString(), "/", prefix_len); }

absl::StatusOr<std::vector<Cidr>> ParseCidrList(absl::string_view text) {
  std::vector<Cidr> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    auto cidr = Cidr::Parse(absl::StripAsciiWhitespace(item));
    if (!cidr.ok()) return cidr.status();
    out.push_back(*cidr);
  }
  return out;
}

absl::string_view NonPublicReason(const IpAddress& address) {
  if (!address.v6) return V4Reason(address);
  if (IsV4Mapped(address)) {
    absl::string_view reason = V4Reason(EmbeddedV4(address, 12));
    return reason.empty() ? absl::string_view{} : reason;
  }
  static constexpr std::array<uint8_t, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                        0, 0, 0, 0, 0, 0, 0, 1};
  if (address.bytes == kLoopback) return "IPv6 loopback address (::1)";
  for (const Range& range : kV6Ranges) {
    if (PrefixMatches(address.bytes, range.base, range.prefix_len)) return range.reason;
  }
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address that the translator or relay
  // will reach: classify that one.
  static constexpr std::array<uint8_t, 16> kNat64 = {0, 0x64, 0xff, 0x9b};
  if (PrefixMatches(address.bytes, kNat64, 96)) {
    if (!V4Reason(EmbeddedV4(address, 12)).empty()) return "NAT64 address embedding a non-public IPv4";
    return {};
  }
  static constexpr std::array<uint8_t, 16> kLocalNat64 = {0, 0x64, 0xff, 0x9b, 0, 1};
  if (PrefixMatches(address.bytes, kLocalNat64, 48)) return "local-use NAT64 address (64:ff9b:1::/48)";
  static constexpr std::array<uint8_t, 16> k6to4 = {0x20, 0x02};
  if (PrefixMatches(address.bytes, k6to4, 16)) {
    if (!V4Reason(EmbeddedV4(address, 2)).empty()) return "6to4 address embedding a non-public IPv4";
    return {};
  }
  return {};
}

absl::StatusOr<HostPatterns> HostPatterns::Parse(absl::string_view text) {
  HostPatterns patterns;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::string pattern = absl::AsciiStrToLower(absl::StripAsciiWhitespace(entry));
    absl::string_view name = absl::StartsWith(pattern, "*.") ? absl::string_view(pattern).substr(2)
                                                             : absl::string_view(pattern);
    bool valid = !name.empty() && name.front() != '.' && name.back() != '.';
    for (char c : name) {
      if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
            c == '_')) {
        valid = false;
      }
    }
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", entry, "\" is not a host name or \"*.suffix\""));
    }
    patterns.patterns_.push_back(std::move(pattern));
  }
  return patterns;
}

absl::string_view HostPatterns::Match(absl::string_view host) const {
  for (const std::string& pattern : patterns_) {
    if (pattern == host) return pattern;
    if (absl::StartsWith(pattern, "*.")) {
      absl::string_view suffix = absl::string_view(pattern).substr(1);
      if (host.size() > suffix.size() && absl::EndsWith(host, suffix)) return pattern;
    }
  }
  return "";
}

EgressDecision EgressPolicy::CheckHost(absl::string_view host) const {
  if (absl::string_view pattern = deny_hosts_.Match(host); !pattern.empty()) {
    return {false, absl::StrCat("host ", host, " is denied by --egress_deny_hosts ", pattern)};
  }
  return {true, ""};
}

EgressDecision EgressPolicy::Check(const IpAddress& raw, absl::string_view host) const {
  if (EgressDecision by_name = CheckHost(host); !by_name.allowed) return by_name;
  // An IPv4-mapped IPv6 address is an IPv4 connection: judge it as IPv4 too.
  IpAddress address = IsV4Mapped(raw) ? EmbeddedV4(raw, 12) : raw;
  for (const Cidr& cidr : deny_) {
    if (cidr.Contains(address) || cidr.Contains(raw)) {
      return {false, absl::StrCat("address ", address.ToString(), " is denied by --egress_deny ",
                                  cidr.ToString())};
    }
  }
  for (const Cidr& cidr : allow_) {
    if (cidr.Contains(address) || cidr.Contains(raw)) return {true, ""};
  }
  if (!host.empty() && !allow_hosts_.Match(host).empty()) return {true, ""};
  if (absl::string_view reason = NonPublicReason(raw); !reason.empty()) {
    return {false, absl::StrCat("address ", address.ToString(), " is a ", reason,
                                ", denied by default (see --egress_allow)")};
  }
  return {true, ""};
}

EgressDecision EgressPolicy::Check(const sockaddr* addr, absl::string_view host) const {
  IpAddress address;
  if (!IpAddress::FromSockaddr(addr, address)) {
    return {false, "address family is not IPv4 or IPv6"};
  }
  return Check(address, host);
}

}  // namespace gather::policy
