#include "service/auth/authenticator.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gather::auth {

std::optional<Authenticator::FileStamp> Authenticator::Stamp(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileStamp{info.st_ino, info.st_size,
                   static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
}

absl::StatusOr<std::string> Authenticator::ReadFile(const std::string& path, FileStamp* stamp) {
  std::optional<FileStamp> before = Stamp(path);
  std::ifstream in(path, std::ios::binary);
  if (!before.has_value() || !in) return absl::NotFoundError("cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError("read failed");
  *stamp = *before;
  return std::move(text).str();
}

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(AuthOptions options) {
  std::unique_ptr<Authenticator> auth(new Authenticator(std::move(options)));
  auth->profiles_ = std::make_shared<CredentialProfiles>();
  if (absl::Status status = auth->LoadTokens(true); !status.ok()) return status;
  if (absl::Status status = auth->LoadProfiles(); !status.ok()) return status;
  return auth;
}

absl::Status Authenticator::LoadTokens(bool initial) {
  if (options_.token_file.empty() && options_.env_token.empty()) return absl::OkStatus();
  TokenSet tokens;
  if (!options_.token_file.empty()) {
    FileStamp stamp;
    auto text = ReadFile(options_.token_file, &stamp);
    if (!text.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--token_file: ", text.status().message()));
    }
    auto parsed = TokenSet::Parse(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--token_file: ", parsed.status().message()));
    }
    tokens = *std::move(parsed);
    token_stamp_ = stamp;
  }
  if (!options_.env_token.empty()) {
    if (absl::Status status = tokens.Add("env", options_.env_token); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("GATHERD_TOKEN: ", status.message()));
    }
  }
  if (initial && tokens.empty()) {
    return absl::InvalidArgumentError("--token_file: holds no token (every call would be refused)");
  }
  auto shared = std::make_shared<const TokenSet>(std::move(tokens));
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ = std::move(shared);
  return absl::OkStatus();
}

absl::Status Authenticator::LoadProfiles() {
  if (options_.credentials_file.empty()) return absl::OkStatus();
  FileStamp stamp;
  auto text = ReadFile(options_.credentials_file, &stamp);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--credentials_file: ", text.status().message()));
  }
  auto parsed = CredentialProfiles::Parse(*text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--credentials_file: ", parsed.status().message()));
  }
  profiles_stamp_ = stamp;
  auto shared = std::make_shared<const CredentialProfiles>(*std::move(parsed));
  std::lock_guard<std::mutex> lock(mu_);
  profiles_ = std::move(shared);
  return absl::OkStatus();
}

std::vector<std::string> Authenticator::Refresh() {
  std::vector<std::string> log;
  if (!options_.token_file.empty()) {
    std::optional<FileStamp> now = Stamp(options_.token_file);
    if (now.has_value() && !(*now == token_stamp_)) {
      token_stamp_ = *now;  // report a bad file once, not every second
      if (absl::Status status = LoadTokens(false); status.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        log.push_back(absl::StrCat("reloaded --token_file (", tokens_->size(), " tokens)"));
      } else {
        log.push_back(absl::StrCat(status.message(), "; keeping the previous tokens"));
      }
    }
  }
  if (!options_.credentials_file.empty()) {
    std::optional<FileStamp> now = Stamp(options_.credentials_file);
    if (now.has_value() && !(*now == profiles_stamp_)) {
      profiles_stamp_ = *now;
      if (absl::Status status = LoadProfiles(); status.ok()) {
        log.push_back(absl::StrCat("reloaded --credentials_file (", profiles()->size(),
                                   " profiles)"));
      } else {
        log.push_back(absl::StrCat(status.message(), "; keeping the previous profiles"));
      }
    }
  }
  return log;
}

bool Authenticator::tokens_required() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_ != nullptr;
}

std::shared_ptr<const CredentialProfiles> Authenticator::profiles() const {
  std::lock_guard<std::mutex> lock(mu_);
  return profiles_;
}

absl::StatusOr<Caller> Authenticator::Authenticate(const CallCredentials& call) const {
  if (options_.require_client_cert && !call.verified_client_cert) {
    return absl::UnauthenticatedError(
        "this server requires a client certificate signed by its client CA (mTLS)");
  }
  std::shared_ptr<const TokenSet> tokens;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tokens = tokens_;
  }
  if (tokens == nullptr) {
    return Caller{call.verified_client_cert && !call.cert_subject.empty() ? call.cert_subject
                                                                          : "anonymous",
                  true, {}};
  }
  if (!call.authorization.has_value()) {
    return absl::UnauthenticatedError(
        "this server requires a bearer token (metadata \"authorization: Bearer <token>\")");
  }
  absl::string_view value = absl::StripAsciiWhitespace(*call.authorization);
  constexpr absl::string_view kBearer = "bearer ";
  if (value.size() <= kBearer.size() || !absl::StartsWithIgnoreCase(value, kBearer)) {
    return absl::UnauthenticatedError(
        "the authorization metadata must be \"Bearer <token>\"");
  }
  absl::string_view token = absl::StripLeadingAsciiWhitespace(value.substr(kBearer.size()));
  const Caller* caller = tokens->Find(token);
  if (caller == nullptr) return absl::UnauthenticatedError("the bearer token is not valid");
  return *caller;
}

}  // namespace gather::auth
