// Shared pieces of the gather CLI: exit codes, channels, header flags, status names.
#ifndef GATHER_CLIENT_COMMANDS_COMMON_H_
#define GATHER_CLIENT_COMMANDS_COMMON_H_

#include <memory>
#include <optional>
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

// What `gather health` asks when given no --server (the other commands start their own gatherd).
inline constexpr absl::string_view kDefaultServer = "127.0.0.1:50051";

// GATHER_SERVER from the environment, or "" (no server named: a private one is started).
std::string DefaultServer();

// How to reach gatherd: the address, TLS (server CA, client certificate for mTLS), and a bearer
// token. TLS is on when any of tls, ca_file, cert or key is set.
struct ConnectionOptions {
  std::string server;
  bool tls = false;              // TLS with the system's root CAs
  std::string ca_file;           // PEM CA bundle that signed gatherd's certificate
  std::string cert;              // PEM client certificate (mTLS), with `key`
  std::string key;
  std::string server_name;       // name expected in gatherd's certificate (default: the host)
  std::string token_file;        // file whose first line is the bearer token (env GATHER_TOKEN_FILE)
  std::string token;             // the token itself (env GATHER_TOKEN); token_file wins
};

// An open channel and what every call adds to its metadata.
struct Connection {
  std::string server;
  std::shared_ptr<grpc::Channel> channel;
  std::string token;  // "" : no bearer token

  // Adds "authorization: Bearer <token>" to a call's metadata when there is a token.
  void Prepare(grpc::ClientContext& context) const;
};

// Reads the certificate, key and token files. INVALID_ARGUMENT names the flag at fault (and
// never shows a token or key).
absl::StatusOr<Connection> Connect(const ConnectionOptions& options);

// The TLS and token flags shared by every command (--ca_file, --cert, ...), filled from the
// environment where it has them.
void ApplyConnectionEnvironment(ConnectionOptions& options);

// Parses "Name: value" into a Header. The value is never echoed in errors.
absl::StatusOr<v1::Header> ParseHeaderFlag(absl::string_view text);

// "--field NAME=/json/pointer" (`names`: the fields given before it, none may repeat) and
// "--require /json/pointer"; INVALID_ARGUMENT names the flag.
absl::StatusOr<v1::Field> ParseFieldFlag(const std::string& text,
                                         const std::vector<std::string>& names);
absl::Status CheckRequireFlag(const std::string& pointer);

// The page flags of `gather lookup` and `gather fetch`: --next-url POINTER|link, --next-token
// POINTER with --token-param NAME, --items POINTER ("" when the page is the array), --max-pages.
struct PageFlags {
  std::string next_url;
  std::string next_token;
  std::string token_param;
  std::optional<std::string> items;
  uint32_t max_pages = 0;
};
// The flags as a Paging message; nullopt when none is given. INVALID_ARGUMENT names the flag.
absl::StatusOr<std::optional<v1::Paging>> BuildPagingFlags(const PageFlags& flags);

// The hosts a FetchAndRank request names (job URLs, the discovery index and template), each
// once, in order: what a private gatherd must be allowed to reach (client/embedded/).
std::vector<std::string> HostsOfRequest(const v1::FetchAndRankRequest& request);

// "OK", "HTTP_ERROR", ... (the enum name without JOB_STATUS_).
absl::string_view StatusName(v1::JobStatus status);

// True for statuses that count as success for the exit code (OK, MISSING).
bool IsSuccess(v1::JobStatus status);

// Maps a failed RPC to an exit code and prints why on stderr.
int ReportRpcError(const grpc::Status& status, const std::string& server);

// Connect() for a command: prints why it failed on stderr and sets `exit_code` (kExitUsage).
std::optional<Connection> ConnectOrReport(const ConnectionOptions& options, int* exit_code);

}  // namespace gather::client

#endif  // GATHER_CLIENT_COMMANDS_COMMON_H_
