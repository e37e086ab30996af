// `gather health`: the standard grpc.health.v1 check against gatherd.
#ifndef GATHER_CLIENT_COMMANDS_HEALTH_H_
#define GATHER_CLIENT_COMMANDS_HEALTH_H_

#include <string>

#include "client/commands/common.h"

namespace gather::client {

struct HealthOptions {
  ConnectionOptions connection;
  std::string service;  // "" = the whole server
  double timeout_seconds = 5;
};

// Prints SERVING / NOT_SERVING / ...; exit 0 only when SERVING, 3 when unreachable.
int RunHealth(const HealthOptions& options);

}  // namespace gather::client

#endif  // GATHER_CLIENT_COMMANDS_HEALTH_H_
