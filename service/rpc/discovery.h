// FetchAndRank discovery: the keys of an index document, and the jobs they become. Pure (no
// gRPC, no I/O); called on the fetch engine thread that completed the index fetch.
#ifndef GATHER_SERVICE_RPC_DISCOVERY_H_
#define GATHER_SERVICE_RPC_DISCOVERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/rpc/rank_request.h"

namespace gather::rpc {

// The keys at `keys_pointer` (RFC 6901) in the JSON document `body`, in document order, at most
// `max_keys` of them: the member names of an object, or the elements of an array of strings
// and numbers (a number is kept as written). Anything else is a FAILED_PRECONDITION status whose
// message starts with "discovery.keys_pointer: ". `body` is padded in place for the parser.
absl::StatusOr<std::vector<std::string>> ParseIndexKeys(std::string& body,
                                                        absl::string_view keys_pointer,
                                                        uint64_t max_keys);

// One job per key, in order: the id is the key, the URL the plan's template expanded with it,
// and the headers the plan's common ones. `plan` must be a discovery plan.
std::vector<RankJob> JobsFromKeys(const RankPlan& plan, std::vector<std::string> keys);

// Why a discovered job cannot be fetched (its row ends INVALID_KEY), or "" when it can: an empty
// key, or a URL longer than `max_url_length`.
std::string InvalidJobReason(const RankJob& job, uint64_t max_url_length);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_DISCOVERY_H_
