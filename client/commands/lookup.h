// `gather lookup`: streams keys to gatherd's BatchLookup and writes one row per key (JSONL or
// CSV), with resume, a progress line and exit codes (docs/API.md). The parts: the flags
// (client/lookup/options.h), the spec and outputs (spec.h), the rows (row_sink.h), the streams
// (sharded_run.h) over gRPC (grpc_transport.h).
#ifndef GATHER_CLIENT_COMMANDS_LOOKUP_H_
#define GATHER_CLIENT_COMMANDS_LOOKUP_H_

#include "client/lookup/options.h"
#include "client/lookup/spec.h"

namespace gather::client {

int RunLookup(const LookupOptions& options);

}  // namespace gather::client

#endif  // GATHER_CLIENT_COMMANDS_LOOKUP_H_
