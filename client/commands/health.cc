#include "client/commands/health.h"

#include <chrono>
#include <iostream>

#include "client/commands/common.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace gather::client {

int RunHealth(const HealthOptions& options) {
  int exit_code = kExitOk;
  std::optional<Connection> connection = ConnectOrReport(options.connection, &exit_code);
  if (!connection) return exit_code;
  auto stub = grpc::health::v1::Health::NewStub(connection->channel);
  grpc::ClientContext context;
  connection->Prepare(context);
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000)));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(options.service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return ReportRpcError(status, options.connection.server);
  std::cout << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()) << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING ? kExitOk
                                                                              : kExitJobsFailed;
}

}  // namespace gather::client
