// Public names of statuses, as JSONL, CSV, logs and metrics print them: a JobStatus without its
// "JOB_STATUS_" prefix ("OK", "HTTP_ERROR", ...). Shared by gatherd and the gather CLI.
#ifndef GATHER_COMMON_STATUS_NAMES_H_
#define GATHER_COMMON_STATUS_NAMES_H_

#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gather/v1/gather.pb.h"

namespace gather::common {

inline absl::string_view JobStatusName(v1::JobStatus status) {
  return absl::StripPrefix(v1::JobStatus_Name(status), "JOB_STATUS_");
}

}  // namespace gather::common

#endif  // GATHER_COMMON_STATUS_NAMES_H_
