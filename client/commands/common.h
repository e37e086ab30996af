// Shared pieces of the gather CLI: exit codes, channels, header flags, status names.
#ifndef GATHER_CLIENT_COMMANDS_COMMON_H_
#define GATHER_CLIENT_COMMANDS_COMMON_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "gather/v1/gather.pb.h"
#include "grpcpp/grpcpp.h"

namespace gather::client {

// Exit codes of every gather command (docs/API.md, README).
inline constexpr int kExitOk = 0;          // every job OK or MISSING
inline constexpr int kExitJobsFailed = 1;  // some jobs failed; results were still written
inline constexpr int kExitUsage = 2;       // bad flags, or INVALID_ARGUMENT from the server
inline constexpr int kExitRpcFailed = 3;   // server unreachable or the RPC failed

inline constexpr absl::string_view kDefaultServer = "127.0.0.1:50051";

// GATHER_SERVER from the environment, or the default.
std::string DefaultServer();

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& server);

// Parses "Name: value" into a Header. The value is never echoed in errors.
absl::StatusOr<v1::Header> ParseHeaderFlag(absl::string_view text);

// "OK", "HTTP_ERROR", ... (the enum name without JOB_STATUS_).
absl::string_view StatusName(v1::JobStatus status);

// True for statuses that count as success for the exit code (OK, MISSING).
bool IsSuccess(v1::JobStatus status);

// Maps a failed RPC to an exit code and prints why on stderr.
int ReportRpcError(const grpc::Status& status, const std::string& server);

}  // namespace gather::client

#endif  // GATHER_CLIENT_COMMANDS_COMMON_H_
