// BatchLookup request validation: a LookupSpec becomes a LookupPlan of domain types, or an
// INVALID_ARGUMENT status naming the field at fault; keys are checked one by one. Pure (no gRPC
// server, no I/O).
#ifndef GATHER_SERVICE_RPC_LOOKUP_REQUEST_H_
#define GATHER_SERVICE_RPC_LOOKUP_REQUEST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "service/config/config.h"
#include "service/extract/fields.h"
#include "service/extract/json_pointer.h"
#include "common/url_template.h"
#include "service/fetch/fetch_types.h"
#include "service/rpc/request_common.h"

namespace gather::rpc {

struct LookupPlan {
  std::optional<common::UrlTemplate> url_template;  // always set in a built plan
  std::string host;                                  // the template's host (keys cannot change it)
  bool head = false;                                 // HEAD instead of GET
  std::shared_ptr<const fetch::HeaderSet> headers;   // may be null
  std::vector<extract::FieldSpec> fields;
  std::vector<extract::JsonPointer> required;
  ResolvedPolicy policy;

  // True when a 2xx body must be parsed (there are fields or required pointers).
  bool parses_body() const { return !fields.empty() || !required.empty(); }
};

// `credential`: the profile named by spec.credential (ResolveCredential), or null.
absl::StatusOr<LookupPlan> BuildLookupPlan(const v1::LookupSpec& spec,
                                           const config::Limits& limits,
                                           const auth::CredentialProfile* credential = nullptr);

// Checks the size of one key message; `index` is the message's position among key messages, for
// the error text.
absl::Status ValidateKeyBatch(const v1::KeyBatch& batch, uint64_t index,
                              const config::Limits& limits);

// Expands `key` into `url` (reused buffer). Returns why the key cannot form a URL (empty, URL
// too long), or nullopt when `url` is good to fetch.
std::optional<std::string> ExpandKey(const LookupPlan& plan, absl::string_view key,
                                     const config::Limits& limits, std::string& url);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_LOOKUP_REQUEST_H_
