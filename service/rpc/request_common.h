// Validation shared by every RPC: headers, the fetch policy, and the RPC deadline. Pure (no gRPC
// server, no I/O); errors are INVALID_ARGUMENT naming the field at fault.
#ifndef GATHER_SERVICE_RPC_REQUEST_COMMON_H_
#define GATHER_SERVICE_RPC_REQUEST_COMMON_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "service/auth/credential_profiles.h"
#include "service/auth/tokens.h"
#include "service/config/config.h"
#include "service/extract/fields.h"
#include "service/extract/json_pointer.h"
#include "service/fetch/fetch_types.h"

namespace gather::rpc {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// INVALID_ARGUMENT "<field>: <message>".
absl::Status FieldError(absl::string_view field, absl::string_view message);

// Checks a list of headers: names are HTTP tokens, values have no CR, LF or NUL. `field` is the
// name used in errors ("headers", "jobs[2].headers"). Never puts a header value in an error.
absl::Status ValidateHeaders(const google::protobuf::RepeatedPtrField<v1::Header>& headers,
                             absl::string_view field, const config::Limits& limits);

// "GET" (also ""), "HEAD", "POST", "PUT", "PATCH" or "DELETE", any case; INVALID_ARGUMENT
// naming `field` otherwise.
absl::StatusOr<fetch::Method> ParseMethod(absl::string_view name, absl::string_view field);

// Fields to extract and pointers that must be present, checked: names non-empty and unique,
// pointers valid, at most limits.max_fields of each. `prefix` goes before the field names in
// errors ("spec." for a LookupSpec, "" for a FetchAndRankRequest).
struct Extraction {
  std::vector<extract::FieldSpec> fields;
  std::vector<extract::JsonPointer> required;
};
absl::StatusOr<Extraction> ParseExtraction(
    const google::protobuf::RepeatedPtrField<v1::Field>& fields,
    const google::protobuf::RepeatedPtrField<std::string>& required, absl::string_view prefix,
    const config::Limits& limits);

// A FetchPolicy with defaults filled in and bounds checked.
struct ResolvedPolicy {
  absl::Duration timeout;
  int concurrency = 0;
  uint64_t max_body_bytes = 0;
  double rate = 0;   // 0: no limit of the request's own
  double burst = 0;  // 0: the default for the rate
  int max_attempts = 1;
  bool coalesce = true;
  bool rate_auto = false;
  std::optional<absl::Duration> hedge_after;  // unset: no fixed hedge delay
  bool hedge_auto = false;
  // Set when the requests carry a credential profile's headers: redirects are not followed, so
  // the secrets cannot reach another host.
  bool no_redirects = false;
  bool redirect_keeps_headers = false;  // Policy.redirect_keeps_headers
  bool idempotent = false;              // Policy.idempotent
};
absl::StatusOr<ResolvedPolicy> ResolvePolicy(const v1::FetchPolicy& policy,
                                             absl::string_view field,
                                             const config::Limits& limits);

// The credential profile named in `field` ("spec.credential"), or null for "". INVALID_ARGUMENT
// for an unknown name, PERMISSION_DENIED when `caller` may not use it. The pointer keeps the
// profiles it came from alive.
absl::StatusOr<std::shared_ptr<const auth::CredentialProfile>> ResolveCredential(
    absl::string_view name, absl::string_view field, const auth::Caller& caller,
    const std::shared_ptr<const auth::CredentialProfiles>& profiles);

// Appends the profile's headers to `headers`. A request header with the same name as one of the
// profile's is INVALID_ARGUMENT naming `headers_field` (the profile's values are never shown).
absl::Status AddCredentialHeaders(const auth::CredentialProfile& profile,
                                  absl::string_view headers_field, HeaderList& headers);

// PERMISSION_DENIED naming `field` unless `host` is one the profile may be sent to.
absl::Status CheckCredentialHost(const auth::CredentialProfile& profile, absl::string_view field,
                                 absl::string_view host);

// The engine group of an RPC with this policy whose jobs must end by `deadline`.
fetch::GroupOptions GroupOptionsFor(const ResolvedPolicy& policy, absl::Time deadline);
// Sets the per-job parts of the policy on `request`.
void ApplyPolicy(const ResolvedPolicy& policy, fetch::FetchRequest& request);

// The time by which an RPC's jobs must end so their rows still reach the caller: the RPC's
// deadline minus min(10% of the time left, 250 ms). InfiniteFuture when the RPC has no deadline.
absl::Time JobDeadline(absl::Time rpc_deadline, absl::Time now);

// gRPC reports "no deadline" as a time point far in the future; this maps it to InfiniteFuture.
absl::Time RpcDeadline(std::chrono::system_clock::time_point deadline);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_REQUEST_COMMON_H_
