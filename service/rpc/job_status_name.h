// The public name of a JobStatus without its "JOB_STATUS_" prefix ("OK", "HTTP_ERROR", ...), as
// JSONL, CSV and the CLI print it. Shared by gatherd and the gather CLI.
#ifndef GATHER_SERVICE_RPC_JOB_STATUS_NAME_H_
#define GATHER_SERVICE_RPC_JOB_STATUS_NAME_H_

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gather/v1/gather.pb.h"

namespace gather::rpc {

inline absl::string_view JobStatusName(v1::JobStatus status) {
  return absl::StripPrefix(v1::JobStatus_Name(status), "JOB_STATUS_");
}

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_JOB_STATUS_NAME_H_
