// Credential profiles: named header sets (API tokens, keys) that gatherd holds so callers can say
// `credential: "places-api"` instead of sending secrets with every request. Each profile lists
// the hosts it may be sent to. Pure: parsing and lookup; Authenticator reads and reloads the file.
#ifndef GATHER_SERVICE_AUTH_CREDENTIAL_PROFILES_H_
#define GATHER_SERVICE_AUTH_CREDENTIAL_PROFILES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/policy/egress_policy.h"

namespace gather::auth {

struct CredentialProfile {
  std::string name;
  // Header lines the profile adds to every request. Values are secrets: never log, echo or
  // count them anywhere.
  std::vector<std::pair<std::string, std::string>> headers;
  // Hosts the headers may be sent to; a request for any other host is refused.
  policy::HostPatterns hosts;
};

// Immutable once parsed; shared between calls through std::shared_ptr.
class CredentialProfiles {
 public:
  // JSON: {"NAME": {"hosts": ["api.example.com", "*.example.com"],
  //                 "headers": {"Authorization": "Bearer ...", ...}}, ...}
  // Every profile needs at least one host and one header. Errors name the profile and the
  // header, never a header's value.
  static absl::StatusOr<CredentialProfiles> Parse(absl::string_view json);

  // The profile called `name`, or nullptr.
  const CredentialProfile* Find(absl::string_view name) const;
  size_t size() const { return profiles_.size(); }

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<CredentialProfile>> profiles_;
};

}  // namespace gather::auth

#endif  // GATHER_SERVICE_AUTH_CREDENTIAL_PROFILES_H_
