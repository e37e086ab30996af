// Egress policy: which resolved addresses gatherd may connect to. Default deny for every
// non-public range (loopback, private, CGNAT, link-local incl. cloud metadata, multicast,
// broadcast, reserved, IPv6 local forms, and IPv4 embedded in IPv4-mapped, NAT64 and 6to4
// addresses); --egress_allow opens CIDRs, --egress_deny closes them, and deny wins over allow.
// Immutable after Create(); Check() is thread-safe and allocation-free on the allowed path.
#ifndef GATHER_SERVICE_POLICY_EGRESS_POLICY_H_
#define GATHER_SERVICE_POLICY_EGRESS_POLICY_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace gather::policy {

// An IPv4 or IPv6 address in network byte order. IPv4 uses the first 4 bytes.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  static absl::StatusOr<IpAddress> Parse(absl::string_view text);
  static bool FromSockaddr(const sockaddr* addr, IpAddress& out);
  std::string ToString() const;
};

struct Cidr {
  IpAddress base;
  int prefix_len = 0;

  // "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128).
  static absl::StatusOr<Cidr> Parse(absl::string_view text);
  bool Contains(const IpAddress& address) const;
  std::string ToString() const;
};

// Parses a comma-separated CIDR list; empty items are ignored.
absl::StatusOr<std::vector<Cidr>> ParseCidrList(absl::string_view text);

// Why an address is not public, or "" when it is. Pure classification, no policy applied.
absl::string_view NonPublicReason(const IpAddress& address);

struct EgressDecision {
  bool allowed = false;
  std::string reason;  // why it was denied (empty when allowed)
};

// Host name patterns: "api.example.com" (that host) or "*.svc.cluster.local" (any subdomain).
class HostPatterns {
 public:
  // A comma-separated list; INVALID_ARGUMENT names a bad entry.
  static absl::StatusOr<HostPatterns> Parse(absl::string_view text);
  // `host` lower-case, without port or brackets. Returns the matching pattern, or "".
  absl::string_view Match(absl::string_view host) const;
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::string> patterns_;
};

// The decision, in order: a host in deny_hosts is refused; an address in deny is refused; an
// address in allow is allowed; a host in allow_hosts is allowed (e.g. in-cluster services on
// private addresses); any other non-public address is refused; public addresses are allowed.
class EgressPolicy {
 public:
  EgressPolicy() = default;
  EgressPolicy(std::vector<Cidr> allow, std::vector<Cidr> deny)
      : allow_(std::move(allow)), deny_(std::move(deny)) {}
  EgressPolicy(std::vector<Cidr> allow, std::vector<Cidr> deny, HostPatterns allow_hosts,
               HostPatterns deny_hosts)
      : allow_(std::move(allow)), deny_(std::move(deny)), allow_hosts_(std::move(allow_hosts)),
        deny_hosts_(std::move(deny_hosts)) {}

  // `host` is the name being connected to ("" when unknown).
  EgressDecision Check(const IpAddress& address, absl::string_view host = "") const;
  // Returns false for address families other than IPv4/IPv6.
  EgressDecision Check(const sockaddr* addr, absl::string_view host = "") const;
  // The name-only part of the decision, before any resolution: refused when `host` matches
  // deny_hosts.
  EgressDecision CheckHost(absl::string_view host) const;

 private:
  std::vector<Cidr> allow_;
  std::vector<Cidr> deny_;
  HostPatterns allow_hosts_;
  HostPatterns deny_hosts_;
};

}  // namespace gather::policy

#endif  // GATHER_SERVICE_POLICY_EGRESS_POLICY_H_
