// How `gather lookup` reaches gatherd: one BatchLookup stream per attempt of a shard. The real
// transport is GrpcLookupTransport (client/lookup/grpc_transport.h); tests use a fake one.
#ifndef GATHER_CLIENT_LOOKUP_LOOKUP_TRANSPORT_H_
#define GATHER_CLIENT_LOOKUP_LOOKUP_TRANSPORT_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/lookup/shards.h"
#include "gather/v1/gather.pb.h"

namespace gather::client {

// One open BatchLookup call. Threads: one sender (Write, WritesDone) and one reader (Read, then
// Finish once the sender has stopped) at a time, as with a gRPC ClientReaderWriter; Cancel from
// any thread.
class BatchLookupStream {
 public:
  virtual ~BatchLookupStream() = default;

  // Blocks while the stream's flow control holds it back. False once nothing more can be sent
  // (the call ended or broke).
  virtual bool Write(const v1::BatchLookupRequest& request) = 0;
  // The half-close: every key was sent.
  virtual bool WritesDone() = 0;
  // The next message from the server; false when the call has ended (then Finish says how).
  virtual bool Read(v1::BatchLookupResponse* response) = 0;
  // How the call ended, as the server (or the connection) said: codes and messages of gRPC.
  virtual absl::Status Finish() = 0;
  // Ends the call early: pending and later Read/Write calls fail soon. Thread-safe.
  virtual void Cancel() = 0;
};

// Opens streams to servers by address. Threads: Connect on the caller's thread before any
// stream; Open from every shard thread at once.
class LookupTransport {
 public:
  virtual ~LookupTransport() = default;

  // Prepares the connection to each of `servers` (reads the TLS and token files). An error
  // (INVALID_ARGUMENT naming the flag at fault) means no call can be made.
  virtual absl::Status Connect(const std::vector<ResolvedServer>& servers) = 0;
  // Starts one BatchLookup call to `server` (connecting to it first if Connect did not),
  // ending at `deadline` (InfiniteFuture: none). An error means the connection could not be
  // set up (as Connect's); a call that fails later reports it through Finish().
  virtual absl::StatusOr<std::unique_ptr<BatchLookupStream>> Open(const ResolvedServer& server,
                                                                  absl::Time deadline) = 0;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_LOOKUP_TRANSPORT_H_
