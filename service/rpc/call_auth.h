// gRPC glue of authentication: reads a call's "authorization" metadata and its TLS peer, and asks
// the Authenticator. Called on gRPC threads when a reactor starts.
#ifndef GATHER_SERVICE_RPC_CALL_AUTH_H_
#define GATHER_SERVICE_RPC_CALL_AUTH_H_

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "service/auth/authenticator.h"

namespace gather::rpc {

// Who is calling. Without an authenticator (no auth configured) every caller is "anonymous" and
// may use every credential profile. UNAUTHENTICATED when the call lacks what the server requires.
absl::StatusOr<auth::Caller> AuthenticateCall(const auth::Authenticator* authenticator,
                                              const grpc::CallbackServerContext& context);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_CALL_AUTH_H_
