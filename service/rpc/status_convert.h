// Conversions between domain statuses and the wire: absl::Status -> grpc::Status (the only place
// this happens), and a fetch outcome + HTTP code -> the public JobStatus.
#ifndef GATHER_SERVICE_RPC_STATUS_CONVERT_H_
#define GATHER_SERVICE_RPC_STATUS_CONVERT_H_

#include <string>

#include "absl/strings/string_view.h"
#include <string_view>

#include "absl/status/status.h"
#include "gather/v1/gather.pb.h"
#include "grpcpp/support/status.h"
#include "service/fetch/fetch_types.h"

namespace gather::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The JobStatus of a fetch that did not produce a 2xx answer, with its error text in `error`.
// Returns JOB_STATUS_OK for a 2xx response (content checks are the caller's).
v1::JobStatus JobStatusOf(const fetch::FetchResult& result, int follow_redirects,
                          std::string* error);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_STATUS_CONVERT_H_
