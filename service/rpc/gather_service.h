// gather.v1.Gather on gRPC's callback API: each RPC gets its own reactor; this class only creates
// them. Thread-safe; called on gRPC threads.
#ifndef GATHER_SERVICE_RPC_GATHER_SERVICE_H_
#define GATHER_SERVICE_RPC_GATHER_SERVICE_H_

#include "gather/v1/gather.grpc.pb.h"
#include "service/rpc/service_state.h"

namespace gather::rpc {

class GatherService final : public v1::Gather::CallbackService {
 public:
  explicit GatherService(ServiceState* state) : state_(state) {}

  grpc::ServerWriteReactor<v1::FetchAndRankResponse>* FetchAndRank(
      grpc::CallbackServerContext* context, const v1::FetchAndRankRequest* request) override;

  grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse>* BatchLookup(
      grpc::CallbackServerContext* context) override;

 private:
  ServiceState* state_;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_GATHER_SERVICE_H_
