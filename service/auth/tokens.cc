#include "service/auth/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gather::auth {

bool Caller::MayUse(absl::string_view profile) const {
  if (all_profiles) return true;
  return std::find(profiles.begin(), profiles.end(), profile) != profiles.end();
}

TokenSet::Digest TokenSet::Sha256(absl::string_view data) {
  Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

absl::Status TokenSet::Add(absl::string_view name, absl::string_view token) {
  if (token.size() < kMinTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat("the token of \"", name, "\" is shorter than ",
                                                   kMinTokenLength, " characters"));
  }
  Digest digest = Sha256(token);
  for (const Entry& entry : entries_) {
    if (entry.digest == digest) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\" has the same token as \"", entry.caller.name, "\""));
    }
  }
  entries_.push_back(Entry{digest, Caller{std::string(name), true, {}}});
  return absl::OkStatus();
}

absl::StatusOr<TokenSet> TokenSet::Parse(absl::string_view text) {
  TokenSet set;
  absl::flat_hash_set<std::string> names;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() < 2 || parts.size() > 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": expected NAME TOKEN [PROFILES]"));
    }
    if (!names.insert(std::string(parts[0])).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": the name \"", parts[0], "\" is used twice"));
    }
    if (absl::Status status = set.Add(parts[0], parts[1]); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", status.message()));
    }
    Caller& caller = set.entries_.back().caller;
    if (parts.size() == 3 && parts[2] != "*") {
      caller.all_profiles = false;
      if (parts[2] != "-") {
        for (absl::string_view profile : absl::StrSplit(parts[2], ',', absl::SkipEmpty())) {
          caller.profiles.emplace_back(profile);
        }
      }
    }
  }
  return set;
}

const Caller* TokenSet::Find(absl::string_view token) const {
  Digest digest = Sha256(token);
  const Caller* found = nullptr;
  for (const Entry& entry : entries_) {
    // Every entry is compared in full; the branch below depends only on the final answer.
    bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal) found = &entry.caller;
  }
  return found;
}

}  // namespace gather::auth
