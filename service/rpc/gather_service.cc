#include "service/rpc/gather_service.h"

#include "service/rpc/fetch_and_rank_reactor.h"

namespace gather::rpc {

grpc::ServerWriteReactor<v1::FetchAndRankResponse>* GatherService::FetchAndRank(
    grpc::CallbackServerContext* context, const v1::FetchAndRankRequest* request) {
  return new FetchAndRankReactor(state_, context, request);
}

}  // namespace gather::rpc
