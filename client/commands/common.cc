#include "client/commands/common.h"

#include <cstdlib>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "service/rpc/job_status_name.h"

namespace gather::client {

std::string DefaultServer() {
  const char* env = std::getenv("GATHER_SERVER");
  return env != nullptr && env[0] != '\0' ? std::string(env) : std::string(kDefaultServer);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& server) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args);
}

absl::StatusOr<v1::Header> ParseHeaderFlag(absl::string_view text) {
  size_t colon = text.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError("--header must look like 'Name: value'");
  }
  v1::Header header;
  header.set_name(std::string(absl::StripAsciiWhitespace(text.substr(0, colon))));
  header.set_value(std::string(absl::StripAsciiWhitespace(text.substr(colon + 1))));
  return header;
}

absl::string_view StatusName(v1::JobStatus status) { return rpc::JobStatusName(status); }

bool IsSuccess(v1::JobStatus status) {
  return status == v1::JOB_STATUS_OK || status == v1::JOB_STATUS_MISSING;
}

int ReportRpcError(const grpc::Status& status, const std::string& server) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      std::cerr << "gather: invalid request: " << status.error_message() << "\n";
      return kExitUsage;
    case grpc::StatusCode::UNAVAILABLE:
      std::cerr << "gather: cannot reach gatherd at " << server << " or it failed: "
                << status.error_message() << "\n";
      return kExitRpcFailed;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::cerr << "gather: the RPC deadline was exceeded: " << status.error_message() << "\n";
      return kExitRpcFailed;
    default:
      std::cerr << "gather: the RPC failed (" << status.error_code() << "): "
                << status.error_message() << "\n";
      return kExitRpcFailed;
  }
}

}  // namespace gather::client
