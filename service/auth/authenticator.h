// Decides who may call the Gather service, and holds the credential profiles. Owns the token and
// profile files: loads them at start, and re-reads a file when it changes (Refresh, called from
// gatherd's main thread about once a second and on SIGHUP) so tokens and profiles rotate without a
// restart. Authenticate() and profiles() are called on gRPC threads; everything is thread-safe.
#ifndef GATHER_SERVICE_AUTH_AUTHENTICATOR_H_
#define GATHER_SERVICE_AUTH_AUTHENTICATOR_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/auth/credential_profiles.h"
#include "service/auth/tokens.h"

namespace gather::auth {

struct AuthOptions {
  std::string token_file;        // "" : no token file
  std::string env_token;         // a token from the environment (GATHERD_TOKEN); "" : none
  std::string credentials_file;  // "" : no credential profiles
  bool require_client_cert = false;  // mTLS: the Gather service needs a verified client certificate
};

// What a call presented, taken from its metadata and TLS session by the RPC layer.
struct CallCredentials {
  std::optional<absl::string_view> authorization;  // the "authorization" metadata, if any
  bool verified_client_cert = false;               // TLS verified a client certificate
  std::string cert_subject;                        // its subject name (for the caller's name)
};

class Authenticator {
 public:
  // Loads the files; an unreadable or invalid file is an error naming the flag.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(AuthOptions options);

  // Re-reads each file whose inode, size or modification time changed. A file that became
  // unreadable or invalid keeps the previous contents. Returns lines for the log (never a secret).
  std::vector<std::string> Refresh();

  // UNAUTHENTICATED when the call lacks what the server requires (a client certificate, a valid
  // bearer token); otherwise who the caller is. Without tokens every caller is allowed.
  absl::StatusOr<Caller> Authenticate(const CallCredentials& call) const;

  // The current profiles (never null; empty without a credentials file).
  std::shared_ptr<const CredentialProfiles> profiles() const;

  bool tokens_required() const;

 private:
  struct FileStamp {
    ino_t inode = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const FileStamp&) const = default;
  };
  explicit Authenticator(AuthOptions options) : options_(std::move(options)) {}
  absl::Status LoadTokens(bool initial);
  absl::Status LoadProfiles();
  static absl::StatusOr<std::string> ReadFile(const std::string& path, FileStamp* stamp);
  static std::optional<FileStamp> Stamp(const std::string& path);

  const AuthOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const TokenSet> tokens_;                // null: no tokens required
  std::shared_ptr<const CredentialProfiles> profiles_;   // never null
  FileStamp token_stamp_;     // touched only by the refreshing thread
  FileStamp profiles_stamp_;  // likewise
};

}  // namespace gather::auth

#endif  // GATHER_SERVICE_AUTH_AUTHENTICATOR_H_
