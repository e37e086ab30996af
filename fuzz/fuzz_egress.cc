// Fuzzes the egress policy's parsers and classifier: IpAddress::Parse, Cidr::Parse,
// ParseCidrList, HostPatterns::Parse/Match, NonPublicReason and EgressPolicy::Check on text
// addresses and on raw sockaddr bytes.
//
// Input lines: ALLOW_CIDRS, DENY_CIDRS, ALLOW_HOSTS, DENY_HOSTS, HOST, then one address or CIDR
// per line. The whole input (its first bytes choosing the family) is also read as a sockaddr.
//
// Invariants: a parsed address or CIDR prints as text that parses back to the same; a CIDR
// contains its base; a CIDR list re-joined parses back to the same list; every listed host
// pattern matches itself; without rules an address is allowed exactly when NonPublicReason is
// empty, and an IPv4-mapped address is classified as its IPv4 address; a host in deny_hosts and
// an address in a deny CIDR are always refused (deny wins); a refusal always says why; Check on a
// sockaddr agrees with Check on the address it holds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "fuzz_util.h"
#include "service/policy/egress_policy.h"

namespace {

using namespace gather::policy;

bool SameAddress(const IpAddress& a, const IpAddress& b) {
  return a.v6 == b.v6 && a.bytes == b.bytes;
}

bool SameCidr(const Cidr& a, const Cidr& b) {
  return SameAddress(a.base, b.base) && a.prefix_len == b.prefix_len;
}

IpAddress MappedFrom(const IpAddress& v4) {
  IpAddress mapped;
  mapped.v6 = true;
  mapped.bytes[10] = 0xff;
  mapped.bytes[11] = 0xff;
  std::memcpy(mapped.bytes.data() + 12, v4.bytes.data(), 4);
  return mapped;
}

bool IsMapped(const IpAddress& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return a.v6 && std::memcmp(a.bytes.data(), kPrefix, 12) == 0;
}

void CheckAddressRoundTrip(const IpAddress& address, absl::string_view text) {
  std::string printed = address.ToString();
  FUZZ_CHECK(!printed.empty(), text);
  auto again = IpAddress::Parse(printed);
  FUZZ_CHECK(again.ok() && SameAddress(*again, address), std::string(text) + " -> " + printed);
}

void CheckCidr(const Cidr& cidr, absl::string_view text) {
  FUZZ_CHECK(cidr.prefix_len >= 0 && cidr.prefix_len <= (cidr.base.v6 ? 128 : 32), text);
  FUZZ_CHECK(cidr.Contains(cidr.base), text);
  std::string printed = cidr.ToString();
  auto again = Cidr::Parse(printed);
  FUZZ_CHECK(again.ok() && SameCidr(*again, cidr), std::string(text) + " -> " + printed);
  CheckAddressRoundTrip(cidr.base, text);
}

std::vector<Cidr> ParseListChecked(absl::string_view text) {
  auto list = ParseCidrList(text);
  if (!list.ok()) {
    FUZZ_CHECK(list.status().code() == absl::StatusCode::kInvalidArgument, text);
    return {};
  }
  std::vector<std::string> printed;
  for (const Cidr& cidr : *list) {
    CheckCidr(cidr, text);
    printed.push_back(cidr.ToString());
  }
  std::string joined = absl::StrJoin(printed, ",");
  auto again = ParseCidrList(joined);
  FUZZ_CHECK(again.ok() && again->size() == list->size(), joined);
  for (size_t i = 0; i < list->size(); ++i) FUZZ_CHECK(SameCidr((*again)[i], (*list)[i]), joined);
  return *std::move(list);
}

HostPatterns ParsePatternsChecked(absl::string_view text) {
  auto patterns = HostPatterns::Parse(text);
  if (!patterns.ok()) {
    FUZZ_CHECK(patterns.status().code() == absl::StatusCode::kInvalidArgument, text);
    return HostPatterns();
  }
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::string pattern = absl::AsciiStrToLower(absl::StripAsciiWhitespace(entry));
    std::string host = absl::StartsWith(pattern, "*.") ? "x" + pattern.substr(1) : pattern;
    FUZZ_CHECK(!patterns->Match(host).empty(), std::string(text) + " / " + host);
  }
  return *std::move(patterns);
}

void CheckMatchResult(const HostPatterns& patterns, absl::string_view host) {
  absl::string_view pattern = patterns.Match(host);
  if (pattern.empty()) return;
  if (pattern == host) return;
  FUZZ_CHECK(absl::StartsWith(pattern, "*."), pattern);
  absl::string_view suffix = pattern.substr(1);
  FUZZ_CHECK(host.size() > suffix.size() && absl::EndsWith(host, suffix), host);
}

struct Rules {
  std::vector<Cidr> allow, deny;
  HostPatterns allow_hosts, deny_hosts;
};

void CheckDecisions(const Rules& rules, const EgressPolicy& policy, const IpAddress& address,
                    absl::string_view host, absl::string_view text) {
  absl::string_view reason = NonPublicReason(address);
  EgressDecision plain = EgressPolicy().Check(address, host);
  FUZZ_CHECK(plain.allowed == reason.empty(), text);
  FUZZ_CHECK(plain.allowed == plain.reason.empty(), plain.reason);

  IpAddress v4 = address;
  if (IsMapped(address)) {
    v4 = IpAddress{};
    std::memcpy(v4.bytes.data(), address.bytes.data() + 12, 4);
  }
  if (!address.v6) {
    // The IPv4-mapped form is judged as the IPv4 address.
    IpAddress mapped = MappedFrom(address);
    FUZZ_CHECK(NonPublicReason(mapped).empty() == reason.empty(), text);
    FUZZ_CHECK(EgressPolicy().Check(mapped, host).allowed == plain.allowed, text);
  }

  EgressDecision decision = policy.Check(address, host);
  FUZZ_CHECK(decision.allowed == decision.reason.empty(), decision.reason);
  bool denied_host = !rules.deny_hosts.Match(host).empty();
  FUZZ_CHECK(policy.CheckHost(host).allowed == !denied_host, host);
  if (denied_host) FUZZ_CHECK(!decision.allowed, host);
  for (const Cidr& cidr : rules.deny) {
    if (cidr.Contains(address) || cidr.Contains(v4)) FUZZ_CHECK(!decision.allowed, text);
  }
  if (decision.allowed && !reason.empty()) {
    // A non-public address gets through only by an allow rule.
    bool allowed_by_rule = !rules.allow_hosts.Match(host).empty() && !host.empty();
    for (const Cidr& cidr : rules.allow) {
      allowed_by_rule = allowed_by_rule || cidr.Contains(address) || cidr.Contains(v4);
    }
    FUZZ_CHECK(allowed_by_rule, text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  auto line = [&lines](size_t i) { return i < lines.size() ? lines[i] : absl::string_view(); };

  Rules rules;
  rules.allow = ParseListChecked(line(0));
  rules.deny = ParseListChecked(line(1));
  rules.allow_hosts = ParsePatternsChecked(line(2));
  rules.deny_hosts = ParsePatternsChecked(line(3));
  std::string host = absl::AsciiStrToLower(line(4));
  CheckMatchResult(rules.allow_hosts, host);
  CheckMatchResult(rules.deny_hosts, host);
  EgressPolicy policy(rules.allow, rules.deny, rules.allow_hosts, rules.deny_hosts);

  for (size_t i = 5; i < lines.size(); ++i) {
    absl::string_view text = lines[i];
    if (auto cidr = Cidr::Parse(text); cidr.ok()) CheckCidr(*cidr, text);
    auto address = IpAddress::Parse(text);
    if (!address.ok()) continue;
    CheckAddressRoundTrip(*address, text);
    CheckDecisions(rules, policy, *address, host, text);
  }

  // Raw sockaddr bytes, as curl's open-socket callback hands them over.
  sockaddr_storage storage{};
  std::memcpy(&storage, data, std::min(size, sizeof(storage)));
  if (size > 0) {
    switch (data[0] % 3) {
      case 0: storage.ss_family = AF_INET; break;
      case 1: storage.ss_family = AF_INET6; break;
      default: break;  // whatever family the bytes say
    }
  }
  const auto* addr = reinterpret_cast<const sockaddr*>(&storage);
  IpAddress from_socket;
  bool known = IpAddress::FromSockaddr(addr, from_socket);
  FUZZ_CHECK(known == (storage.ss_family == AF_INET || storage.ss_family == AF_INET6), input);
  EgressDecision by_socket = policy.Check(addr, host);
  if (!known) {
    FUZZ_CHECK(!by_socket.allowed, input);
    return 0;
  }
  FUZZ_CHECK(from_socket.v6 == (storage.ss_family == AF_INET6), input);
  EgressDecision by_address = policy.Check(from_socket, host);
  FUZZ_CHECK(by_socket.allowed == by_address.allowed, input);
  FUZZ_CHECK(by_socket.reason == by_address.reason, input);
  CheckAddressRoundTrip(from_socket, input);
  CheckDecisions(rules, policy, from_socket, host, input);
  return 0;
}
