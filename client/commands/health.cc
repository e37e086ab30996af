#include "client/commands/health.h"

#include <chrono>
#include <iostream>

#include "client/commands/common.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace gather::client {

int RunHealth(const HealthOptions& options) {
  auto stub = grpc::health::v1::Health::NewStub(MakeChannel(options.server));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(options.service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, options.server);
  std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                              : kExitJobsFailed;
}

}  // namespace gather::client
