// The FetchAndRank server-streaming reactor.
//
// Owns the call's jobs and its ranking; the outbound side (batches, the write in flight, the
// summary, Finish, metrics and the log line) is its StreamCore, whose mutex guards the state
// below it. Threads: the constructor, OnWriteDone, OnCancel and OnDone run on gRPC threads;
// OnFetchDone on the fetch engine's loop threads (several at once); Drain on main's thread at
// shutdown. Every pending job (and the index fetch) keeps the call alive; the core calls Finish
// once they are done and everything is written, and OnDone deletes.
//
// With batch_results the results go out in JobResultBatch messages; without it (older clients)
// one JobResult per message. Either way every row stays in the core until written; their number
// is bounded by the call's jobs, which the server's job queue bounds (see stream_core.h).
#ifndef GATHER_SERVICE_RPC_FETCH_AND_RANK_REACTOR_H_
#define GATHER_SERVICE_RPC_FETCH_AND_RANK_REACTOR_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/extract/rank.h"
#include "service/fetch/fetch_engine.h"
#include "service/rpc/key_pages.h"
#include "service/rpc/rank_request.h"
#include "service/rpc/service_state.h"
#include "service/rpc/stream_core.h"

namespace gather::rpc {

class FetchAndRankReactor final
    : public grpc::ServerWriteReactor<v1::FetchAndRankResponse>,
      public fetch::FetchSink,
      public Drainable,
      private StreamHost<v1::FetchAndRankResponse, v1::JobResult> {
 public:
  FetchAndRankReactor(ServiceState* state, grpc::CallbackServerContext* context,
                      const v1::FetchAndRankRequest* request);

  void OnWriteDone(bool ok) override { core_.OnWriteDone(ok); }
  void OnCancel() override;
  void OnDone() override;
  void OnFetchDone(uint64_t tag, fetch::FetchResult& result) override;
  // Shutdown (main's thread): the jobs not done yet end CANCELLED, then the ranking is sent.
  void Drain() override;

 private:
  using Core = StreamCore<v1::FetchAndRankResponse, v1::JobResult>;
  static constexpr uint64_t kIndexTag = UINT64_MAX;

  // StreamHost (called by core_).
  void StartWriteLocked(const v1::FetchAndRankResponse* message) override { StartWrite(message); }
  void FinishCall(const grpc::Status& status) override { Finish(status); }
  bool DrainedLocked() override { return pending_ == 0; }
  void BuildSummaryLocked(v1::FetchAndRankResponse* message) override;
  grpc::Status EndStatusLocked() override { return grpc::Status::OK; }
  void StreamBrokeLocked() override;
  google::protobuf::RepeatedPtrField<v1::JobResult>* BatchRows(
      v1::FetchAndRankResponse* message) override {
    return message->mutable_results()->mutable_results();
  }
  v1::JobResult* SingleRow(v1::FetchAndRankResponse* message) override {
    return message->mutable_result();
  }

  fetch::FetchRequest MakeRequest(const RankJob& job) const;
  // The first request of job `tag`; for a paged call also its KeyPages (mutex held).
  fetch::FetchRequest FirstRequestLocked(uint64_t tag);
  // A page of a paged call answered (engine thread): the next page, or the job's rows
  // (service/rpc/fetch_and_rank_pages.cc).
  void HandlePage(uint64_t tag, fetch::FetchResult& result);
  void HandleIndex(fetch::FetchResult& result);
  void HandleJob(uint64_t tag, fetch::FetchResult& result);

  ServiceState* state_;
  grpc::CallbackServerContext* context_;
  Core core_;
  bool admitted_ = false;
  std::optional<RankPlan> plan_;  // set by the constructor before any job exists; then read-only
  absl::Time rpc_deadline_ = absl::InfiniteFuture();
  fetch::GroupId group_ = 0;
  bool group_open_ = false;
  bool registered_ = false;     // in the ServiceState's registry (Drain reaches it)
  uint64_t reserved_jobs_ = 0;  // room taken in the server's job queue, given back in OnDone

  // Guarded by core_.mu().
  std::atomic<bool> draining_{false};  // Drain ran (written under the mutex)
  bool cancelled_ = false;             // OnCancel ran
  std::vector<RankJob> jobs_;          // by tag; written before their submit
  // Paged calls: each job's pages, by tag; one job's KeyPages is used without the mutex by the
  // thread completing its current page only (one page in flight per job).
  std::vector<std::unique_ptr<KeyPages>> pages_;
  uint64_t pending_ = 0;               // jobs (and the index fetch) not yet completed
  std::vector<extract::Scored> scored_;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_FETCH_AND_RANK_REACTOR_H_
