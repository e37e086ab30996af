// `gather rank` and `gather netdata`: one FetchAndRank call, results printed as a table or JSONL.
#ifndef GATHER_CLIENT_COMMANDS_RANK_H_
#define GATHER_CLIENT_COMMANDS_RANK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "client/commands/common.h"
#include "absl/status/statusor.h"
#include "gather/v1/gather.pb.h"

namespace gather::client {

struct RankOptions {
  ConnectionOptions connection;
  // Jobs: URLs (argument list and/or a file of "URL" or "ID URL" lines), or discovery.
  std::vector<std::string> urls;
  std::string urls_file;
  std::string index_url;
  std::string keys_pointer;
  std::string url_template;
  // Score.
  std::string values_pointer;
  uint32_t skip_columns = 0;
  std::string row_reducer = "mean";
  std::string across_reducer = "mean";
  uint32_t top = 20;
  bool ascending = false;
  // Policy.
  uint32_t concurrency = 0;
  double timeout_seconds = 0;
  double deadline_seconds = 0;  // 0: no deadline
  uint64_t max_body_bytes = 0;
  double rate = 0;              // requests per second per host (0: none of its own)
  uint32_t burst = 0;
  uint32_t max_attempts = 0;    // 0: the server's default
  std::vector<std::string> headers;
  std::string credential;  // a credential profile held by gatherd
  // Output.
  bool json = false;
  bool quiet = false;           // no failure summary on stderr
  std::string id_column = "id";
  int decimals = 2;
  // Optional link column: id -> URL.
  std::function<std::string(const std::string&)> link;
};

// Builds the request from the options; INVALID_ARGUMENT names the flag at fault.
absl::StatusOr<v1::FetchAndRankRequest> BuildRankRequest(const RankOptions& options);

// The hosts the request names (job URLs, the index and the template), each once, for a private
// gatherd's egress; empty when the flags do not make a request.
std::vector<std::string> RankHosts(const RankOptions& options);

// Runs the RPC and prints the ranking to stdout. Returns an exit code (common.h).
int RunRank(const RankOptions& options);

}  // namespace gather::client

#endif  // GATHER_CLIENT_COMMANDS_RANK_H_
