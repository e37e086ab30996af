// FetchAndRank request validation: turns a proto request into a RankPlan of domain types, or an
// INVALID_ARGUMENT status naming the field at fault. Pure (no gRPC server, no I/O).
#ifndef GATHER_SERVICE_RPC_RANK_REQUEST_H_
#define GATHER_SERVICE_RPC_RANK_REQUEST_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "service/config/config.h"
#include "service/extract/json_pointer.h"
#include "service/extract/fields.h"
#include "service/extract/score.h"
#include "common/url_template.h"
#include "service/fetch/fetch_types.h"
#include "service/rpc/key_pages.h"
#include "service/rpc/request_common.h"

namespace gather::rpc {

struct RankJob {
  std::string id;
  std::string url;
  std::shared_ptr<const fetch::HeaderSet> headers;  // common + the job's own; may be null
};

struct RankPlan {
  std::vector<RankJob> jobs;  // explicit jobs (empty with discovery)

  bool discovery = false;
  std::string index_url;
  extract::JsonPointer keys_pointer;
  std::optional<common::UrlTemplate> url_template;
  uint64_t max_keys = 0;

  HeaderList common_headers;
  std::shared_ptr<const fetch::HeaderSet> common_header_set;
  std::optional<extract::ScoreSpec> score;  // unset: fetch and extract only (fields)
  std::vector<extract::FieldSpec> fields;
  std::vector<extract::JsonPointer> required;
  fetch::Method method = fetch::Method::kGet;
  std::string body;
  size_t top_n = 0;
  bool ascending = false;
  ResolvedPolicy policy;
  std::optional<PagingPlan> paging;  // each job's pages (FetchAndRankRequest.paging)
};

// `credential`: the profile named by request.credential (ResolveCredential), or null.
absl::StatusOr<RankPlan> BuildRankPlan(const v1::FetchAndRankRequest& request,
                                       const config::Limits& limits,
                                       const auth::CredentialProfile* credential = nullptr);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_RANK_REQUEST_H_
