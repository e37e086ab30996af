// How `gather lookup` spreads one batch over several gatherd replicas, and how it retries: pure
// functions (no I/O but the resolver), used by client/commands/lookup.cc.
//
// A run has K shards; a key belongs to shard ShardOf(key, K) (a stable hash, so duplicates of a
// key meet on one server, where they share a fetch). Shard i runs on server i % N first; when
// its stream breaks it moves on to the next server, after ReconnectBackoff().
#ifndef GATHER_CLIENT_LOOKUP_SHARDS_H_
#define GATHER_CLIENT_LOOKUP_SHARDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gather::client {

// One entry of --server: a plain "HOST:PORT" (gRPC resolves it), or "dns:///NAME:PORT", which
// the CLI resolves itself into one address per backend (a headless Service's pods).
struct ServerTarget {
  std::string text;  // as given
  bool dns = false;  // dns:///NAME:PORT
  std::string host;  // dns only: NAME
  std::string port;  // dns only: PORT
};

// Splits --server on commas. INVALID_ARGUMENT names the entry at fault (empty, or a dns:/// one
// without a port or with an authority).
absl::StatusOr<std::vector<ServerTarget>> ParseServerList(absl::string_view text);

// One backend address and, when it came from a dns:/// target, that name (TLS still expects the
// name in the server's certificate, not the IP).
struct ResolvedServer {
  std::string address;
  std::string dns_name;  // "" for a plain target
  bool operator==(const ResolvedServer&) const = default;
};

// Every backend address of `targets`, in order and without duplicates: plain targets as given,
// dns:/// targets as "IP:PORT" / "[IPv6]:PORT" for each address the system resolver returns.
// UNAVAILABLE when a name resolves to nothing.
absl::StatusOr<std::vector<ResolvedServer>> ResolveServers(
    const std::vector<ServerTarget>& targets);

// The shard of `key` among `shards` (>= 1): FNV-1a 64 of the bytes, finished with a 64-bit mix,
// modulo `shards`. Stable across runs, machines and versions.
uint32_t ShardOf(absl::string_view key, uint32_t shards);

// The server for a shard's attempt: shard i starts on server i % servers and moves one server
// further on each failed attempt, so a dead replica's keys go to the others.
size_t ServerForAttempt(uint32_t shard, uint32_t failed_attempts, size_t servers);

// Delay before reconnect attempt `failures` (1 = after the first failure): 0.5 s doubling to at
// most 30 s, times (0.8 + 0.4 * jitter) with `jitter` in [0, 1).
absl::Duration ReconnectBackoff(uint32_t failures, double jitter);

// Whether a stream that ended with this gRPC code is worth reconnecting for (the server went
// away, restarted, shed load or cut the connection) rather than a verdict on the request
// (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, ...), which another attempt would only
// repeat.
bool IsReconnectable(int grpc_code);

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_SHARDS_H_
