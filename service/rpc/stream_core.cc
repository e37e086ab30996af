#include "service/rpc/stream_core.h"

#include "service/observe/log.h"

namespace gather::rpc {

void RecordRpcEnd(const ServiceState& state, const StreamOptions& options,
                  const grpc::Status& status, absl::Duration wall, const std::string& caller,
                  const std::string& peer, const StatusCounts& counts, uint64_t bytes) {
  const int code = static_cast<int>(status.error_code());
  if (state.metrics != nullptr) state.metrics->RpcDone(options.method, code, wall);
  observe::Log(status.ok() ? observe::LogLevel::kInfo : observe::LogLevel::kWarning, "rpc",
               {{"method", options.method_name},
                {"code", std::string(observe::GrpcCodeName(code))},
                {"error", status.error_message()},
                {"caller", caller},
                {"peer", peer},
                {options.count_name, static_cast<int64_t>(counts.total())},
                {"statuses", observe::StatusCountsJson(counts.data(), counts.size())},
                {"bytes", static_cast<int64_t>(bytes)},
                {"wall_ms", absl::ToDoubleMilliseconds(wall)}});
}

}  // namespace gather::rpc
