#include "service/rpc/call_auth.h"

#include <optional>
#include <string>

namespace gather::rpc {

absl::StatusOr<auth::Caller> AuthenticateCall(const auth::Authenticator* authenticator,
                                              const grpc::CallbackServerContext& context) {
  if (authenticator == nullptr) return auth::Caller{"anonymous", true, {}};
  auth::CallCredentials call;
  const auto& metadata = context.client_metadata();
  auto range = metadata.equal_range("authorization");
  if (range.first != range.second) {
    if (std::next(range.first) != range.second) {
      return absl::UnauthenticatedError("more than one authorization metadata entry");
    }
    call.authorization = absl::string_view(range.first->second.data(), range.first->second.size());
  }
  if (std::shared_ptr<const grpc::AuthContext> peer = context.auth_context();
      peer != nullptr && peer->IsPeerAuthenticated()) {
    // Only TLS sets a peer identity here, and only from a client certificate it verified.
    call.verified_client_cert = true;
    std::vector<grpc::string_ref> identity = peer->GetPeerIdentity();
    if (!identity.empty()) call.cert_subject.assign(identity.front().data(), identity.front().size());
  }
  return authenticator->Authenticate(call);
}

}  // namespace gather::rpc
