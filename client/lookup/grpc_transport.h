// The gRPC LookupTransport: one channel per gatherd address, a bearer token on every call.
#ifndef GATHER_CLIENT_LOOKUP_GRPC_TRANSPORT_H_
#define GATHER_CLIENT_LOOKUP_GRPC_TRANSPORT_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/commands/common.h"
#include "client/lookup/lookup_transport.h"
#include "client/lookup/shards.h"

namespace gather::client {

// Owns the channels (opened once per address, on first use) and the token. Threads: Connect on
// the caller's thread before the shards start; Open from every shard thread; mu_ guards the
// channels.
class GrpcLookupTransport : public LookupTransport {
 public:
  explicit GrpcLookupTransport(ConnectionOptions options) : options_(std::move(options)) {}

  // Opens a channel to every server; the token of the first address (by name) is then used
  // for every call.
  absl::Status Connect(const std::vector<ResolvedServer>& servers) override;
  absl::StatusOr<std::unique_ptr<BatchLookupStream>> Open(const ResolvedServer& server,
                                                          absl::Time deadline) override;

 private:
  // The channel to `server`, opened on first use (mu_ is held while a new one is opened: that
  // reads the TLS and token files, once per address).
  absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelFor(const ResolvedServer& server);

  const ConnectionOptions options_;
  std::string token_;  // set by Connect(), then read-only
  std::mutex mu_;
  std::map<std::string, Connection> connections_;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_GRPC_TRANSPORT_H_
