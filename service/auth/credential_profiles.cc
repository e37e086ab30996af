#include "service/auth/credential_profiles.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace gather::auth {
namespace {

bool IsHeaderNameChar(unsigned char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != absl::string_view::npos;
}

bool IsProfileName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (unsigned char c : name) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

absl::Status ProfileError(absl::string_view profile, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("profile \"", profile, "\": ", message));
}

}  // namespace

absl::StatusOr<CredentialProfiles> CredentialProfiles::Parse(absl::string_view json) {
  nlohmann::json root = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                              /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    // nlohmann's messages quote the input near the error, which may be a secret: say only where.
    return absl::InvalidArgumentError("not valid JSON");
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError("must be a JSON object of profile name -> profile");
  }
  CredentialProfiles profiles;
  for (const auto& [name, body] : root.items()) {
    if (!IsProfileName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", absl::CHexEscape(name.substr(0, 128)),
          "\" is not a profile name (letters, digits, '-', '_', '.'; at most 128)"));
    }
    if (!body.is_object()) return ProfileError(name, "must be an object with hosts and headers");
    auto profile = std::make_unique<CredentialProfile>();
    profile->name = name;
    for (const auto& [key, unused] : body.items()) {
      if (key != "hosts" && key != "headers") {
        return ProfileError(name, absl::StrCat("unknown key \"", absl::CHexEscape(key),
                                               "\" (expected hosts, headers)"));
      }
    }

    auto hosts = body.find("hosts");
    if (hosts == body.end() || !hosts->is_array() || hosts->empty()) {
      return ProfileError(name, "hosts must be a non-empty array of host names or \"*.suffix\"");
    }
    std::vector<std::string> host_list;
    for (const auto& host : *hosts) {
      if (!host.is_string()) return ProfileError(name, "hosts must hold strings");
      const std::string& text = host.get_ref<const std::string&>();
      if (text.find(',') != std::string::npos || text == "*") {
        return ProfileError(name, absl::StrCat("\"", absl::CHexEscape(text),
                                               "\" is not a host name or \"*.suffix\""));
      }
      host_list.push_back(text);
    }
    auto patterns = policy::HostPatterns::Parse(absl::StrJoin(host_list, ","));
    if (!patterns.ok()) return ProfileError(name, patterns.status().message());
    profile->hosts = *std::move(patterns);

    auto headers = body.find("headers");
    if (headers == body.end() || !headers->is_object() || headers->empty()) {
      return ProfileError(name, "headers must be a non-empty object of name -> value");
    }
    for (const auto& [header, value] : headers->items()) {
      bool name_ok = !header.empty() && header.size() <= 256;
      for (unsigned char c : header) name_ok = name_ok && IsHeaderNameChar(c);
      if (!name_ok) {
        return ProfileError(name, absl::StrCat("\"", absl::CHexEscape(header.substr(0, 256)),
                                               "\" is not an HTTP header name"));
      }
      if (!value.is_string()) {
        return ProfileError(name, absl::StrCat("the value of header ", header, " must be a string"));
      }
      const std::string& text = value.get_ref<const std::string&>();
      if (text.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
        return ProfileError(name, absl::StrCat("the value of header ", header,
                                               " contains CR, LF or NUL"));
      }
      if (text.size() > 16 * 1024) {
        return ProfileError(name, absl::StrCat("the value of header ", header,
                                               " is longer than 16 KiB"));
      }
      profile->headers.emplace_back(header, text);
    }
    profiles.profiles_.emplace(name, std::move(profile));
  }
  return profiles;
}

const CredentialProfile* CredentialProfiles::Find(absl::string_view name) const {
  auto it = profiles_.find(name);
  return it == profiles_.end() ? nullptr : it->second.get();
}

}  // namespace gather::auth
