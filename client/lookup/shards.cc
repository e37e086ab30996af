#include "client/lookup/shards.h"

#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grpcpp/support/status.h"

namespace gather::client {

absl::StatusOr<std::vector<ServerTarget>> ParseServerList(absl::string_view text) {
  std::vector<ServerTarget> targets;
  int index = 0;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    ++index;
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--server: entry ", index, " is empty (expected HOST:PORT[,HOST:PORT...])"));
    }
    ServerTarget target;
    target.text = std::string(entry);
    if (absl::ConsumePrefix(&entry, "dns:")) {
      if (!absl::ConsumePrefix(&entry, "///")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--server ", target.text, ": expected dns:///NAME:PORT (no DNS server authority)"));
      }
      size_t colon = entry.rfind(':');
      if (colon == absl::string_view::npos || colon == 0 || colon + 1 == entry.size() ||
          entry.substr(colon + 1).find_first_not_of("0123456789") != absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--server ", target.text, ": expected dns:///NAME:PORT"));
      }
      target.dns = true;
      target.host = std::string(absl::StripSuffix(absl::StripPrefix(entry.substr(0, colon), "["), "]"));
      target.port = std::string(entry.substr(colon + 1));
    }
    targets.push_back(std::move(target));
  }
  return targets;
}

absl::StatusOr<std::vector<ResolvedServer>> ResolveServers(
    const std::vector<ServerTarget>& targets) {
  std::vector<ResolvedServer> addresses;
  auto add = [&addresses](std::string address, const std::string& name) {
    for (const ResolvedServer& known : addresses) {
      if (known.address == address) return;
    }
    addresses.push_back({std::move(address), name});
  };
  for (const ServerTarget& target : targets) {
    if (!target.dns) {
      add(target.text, "");
      continue;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int error = getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found);
    if (error != 0) {
      return absl::UnavailableError(
          absl::StrCat("--server ", target.text, ": ", gai_strerror(error)));
    }
    for (addrinfo* at = found; at != nullptr; at = at->ai_next) {
      char ip[INET6_ADDRSTRLEN] = {};
      if (at->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(at->ai_addr)->sin_addr, ip, sizeof ip);
        add(absl::StrCat(ip, ":", target.port), target.host);
      } else if (at->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(at->ai_addr)->sin6_addr, ip,
                  sizeof ip);
        add(absl::StrCat("[", ip, "]:", target.port), target.host);
      }
    }
    freeaddrinfo(found);
  }
  if (addresses.empty()) return absl::UnavailableError("--server: no addresses");
  return addresses;
}

uint32_t ShardOf(absl::string_view key, uint32_t shards) {
  if (shards <= 1) return 0;
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  // splitmix64's finalizer: FNV's low bits alone spread short numeric keys poorly.
  hash ^= hash >> 30;
  hash *= 0xbf58476d1ce4e5b9ull;
  hash ^= hash >> 27;
  hash *= 0x94d049bb133111ebull;
  hash ^= hash >> 31;
  return static_cast<uint32_t>(hash % shards);
}

size_t ServerForAttempt(uint32_t shard, uint32_t failed_attempts, size_t servers) {
  if (servers == 0) return 0;
  return (static_cast<size_t>(shard) + failed_attempts) % servers;
}

absl::Duration ReconnectBackoff(uint32_t failures, double jitter) {
  if (failures == 0) return absl::ZeroDuration();
  double seconds = 0.5 * std::pow(2.0, std::min<uint32_t>(failures - 1, 16));
  seconds = std::min(seconds, 30.0);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return absl::Seconds(seconds * (0.8 + 0.4 * jitter));
}

bool IsReconnectable(int grpc_code) {
  switch (static_cast<grpc::StatusCode>(grpc_code)) {
    case grpc::StatusCode::UNAVAILABLE:         // gone, restarting, shutting down, connect failed
    case grpc::StatusCode::CANCELLED:           // the server cut the call (shutdown, GOAWAY)
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // --max_rpcs or the job queue: later, elsewhere
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::INTERNAL:            // a stream reset by the transport
    case grpc::StatusCode::UNKNOWN:
      return true;
    default:
      return false;
  }
}

}  // namespace gather::client
