// Bearer tokens that may call gatherd's Gather service, and who each one is. Pure: parsing and
// lookup only; the file is read and reloaded by Authenticator.
#ifndef GATHER_SERVICE_AUTH_TOKENS_H_
#define GATHER_SERVICE_AUTH_TOKENS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gather::auth {

// Who made a call, once authenticated, and which credential profiles it may name.
struct Caller {
  std::string name;           // the token's name, the client certificate's subject, or "anonymous"
  bool all_profiles = true;   // may use every credential profile
  std::vector<std::string> profiles;  // the profiles it may use when !all_profiles

  bool MayUse(absl::string_view profile) const;
};

// The shortest token accepted: guessing must be hopeless.
inline constexpr size_t kMinTokenLength = 16;

// A set of tokens, kept only as SHA-256 digests. Immutable once built; share it freely.
class TokenSet {
 public:
  // One token per line: NAME TOKEN [PROFILES]. PROFILES is a comma-separated list of credential
  // profile names the caller may use, or "*" (the default) for all of them; "-" for none. Blank
  // lines and lines starting with '#' are skipped. Errors name the line, never echo a token.
  static absl::StatusOr<TokenSet> Parse(absl::string_view text);

  // Adds one token (e.g. from the environment) with access to every profile.
  absl::Status Add(absl::string_view name, absl::string_view token);

  // The caller whose token is `token`, or nullptr. Compares the token's digest with every entry's
  // in constant time and never stops early, so timing tells nothing about which bytes matched.
  const Caller* Find(absl::string_view token) const;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  using Digest = std::array<uint8_t, 32>;
  struct Entry {
    Digest digest;
    Caller caller;
  };
  static Digest Sha256(absl::string_view data);

  std::vector<Entry> entries_;
};

}  // namespace gather::auth

#endif  // GATHER_SERVICE_AUTH_TOKENS_H_
