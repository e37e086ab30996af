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
#include "common/text_template.h"
#include "service/fetch/fetch_types.h"
#include "service/rpc/key_pages.h"
#include "service/rpc/request_common.h"

namespace gather::rpc {

// A header whose value holds placeholders, filled per key.
struct HeaderTemplate {
  std::string name;
  common::TextTemplate value;
};

struct LookupPlan {
  common::TextTemplate url;  // no placeholder in the scheme or host
  std::string host;          // the template's host (keys cannot change it)
  fetch::Method method = fetch::Method::kGet;
  // The body template (POST, PUT, PATCH, DELETE), how values go into it, and whether the result
  // must be JSON.
  std::optional<common::TextTemplate> body;
  common::Escape body_escape = common::Escape::kRaw;
  bool body_is_json = false;
  // The headers: all of them when none has placeholders; else the fixed ones, and the templates.
  std::shared_ptr<const fetch::HeaderSet> headers;  // may be null
  std::vector<std::pair<std::string, std::string>> fixed_headers;
  std::vector<HeaderTemplate> header_templates;
  std::vector<extract::FieldSpec> fields;
  std::vector<extract::JsonPointer> required;
  ResolvedPolicy policy;
  // Set when each key's pages are followed (LookupSpec.paging).
  std::optional<PagingPlan> paging;

  bool head() const { return method == fetch::Method::kHead; }
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

// The request for one key: its row (Key.columns, or {"key": Key.key}) filled into the URL, body
// and header templates, with the plan's method and policy. INVALID_ARGUMENT says why the key
// cannot be sent (the key then ends INVALID_KEY): an empty plain key, a column the spec uses and
// the row lacks, a URL or body over the limits, a body that is not JSON, a header value with a
// line break.
absl::StatusOr<fetch::FetchRequest> RequestForKey(const LookupPlan& plan, const v1::Key& key,
                                                  const config::Limits& limits);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_LOOKUP_REQUEST_H_
