#include "service/rpc/gather_service.h"

#include "service/rpc/batch_lookup_reactor.h"
#include "service/rpc/fetch_and_rank_reactor.h"

namespace gather::rpc {

grpc::ServerWriteReactor<v1::FetchAndRankResponse>* GatherService::FetchAndRank(
    grpc::CallbackServerContext* context, const v1::FetchAndRankRequest* request) {
  return new FetchAndRankReactor(state_, context, request);
}

grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse>*
GatherService::BatchLookup(grpc::CallbackServerContext* context) {
  return new BatchLookupReactor(state_, context);
}

}  // namespace gather::rpc
