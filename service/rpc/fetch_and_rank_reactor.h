// The FetchAndRank server-streaming reactor.
//
// Threads: the constructor and OnWriteDone/OnCancel/OnDone run on gRPC threads; OnFetchDone runs
// on the fetch engine's loop threads (several at once). mu_ guards the outbound queue and the
// counters. One write is in flight at a time; every pending job keeps the reactor alive; Finish
// is called only after the last job's result and the summary are written (or the stream broke),
// and OnDone deletes. A write is outstanding until both its OnWriteDone ran and the thread that
// started it returned (WriteHandoff). After mu_ is released, code that nothing keeps alive
// touches only locals: another thread may finish the call and delete it.
#ifndef GATHER_SERVICE_RPC_FETCH_AND_RANK_REACTOR_H_
#define GATHER_SERVICE_RPC_FETCH_AND_RANK_REACTOR_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/extract/rank.h"
#include "service/fetch/fetch_engine.h"
#include "service/rpc/rank_request.h"
#include "service/rpc/service_state.h"
#include "service/rpc/write_handoff.h"

namespace gather::rpc {

class FetchAndRankReactor final : public grpc::ServerWriteReactor<v1::FetchAndRankResponse>,
                                  public fetch::FetchSink,
                                  public Drainable {
 public:
  FetchAndRankReactor(ServiceState* state, grpc::CallbackServerContext* context,
                      const v1::FetchAndRankRequest* request);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  void OnFetchDone(uint64_t tag, fetch::FetchResult& result) override;
  // Shutdown (main's thread): the jobs not done yet end CANCELLED, then the ranking is sent.
  void Drain() override;

 private:
  // Finish() with the RPC's status recorded in the metrics.
  void FinishRpc(const grpc::Status& status);
  static constexpr uint64_t kIndexTag = UINT64_MAX;

  // What to do once mu_ is released.
  struct Action {
    const v1::FetchAndRankResponse* write = nullptr;
    std::optional<grpc::Status> finish;
  };

  fetch::FetchRequest MakeRequest(const RankJob& job) const;
  void HandleIndex(fetch::FetchResult& result);
  void HandleJob(uint64_t tag, fetch::FetchResult& result);
  // Queues `message` and returns what to start (call with mu_ held).
  Action EnqueueLocked(v1::FetchAndRankResponse message);
  // After a job completed or a write finished: the summary, the next write, or Finish.
  Action NextLocked();
  // The bookkeeping of a write that is over (WriteHandoff): the next write or the end. Sets
  // `cancel` when the write failed (the caller is gone). Call with mu_ held.
  Action WriteOverLocked(bool ok, bool* cancel);
  // One of a write's two ends (WriteHandoff): the starting thread `returned` from StartWrite, or
  // OnWriteDone(ok) ran. When that makes the write over: its bookkeeping, the group cancelled if
  // the write failed, and what to start next; nullopt while the other end is still to come.
  std::optional<Action> EndWritePart(bool returned, bool ok);
  // Starts what `action` says. Static, and `self` is touched only when the action has
  // something to do: with nothing to do, another thread may already have deleted the call
  // (even a member call on it would be undefined).
  static void Act(FetchAndRankReactor* self, Action action);

  ServiceState* state_;
  grpc::CallbackServerContext* context_;
  bool admitted_ = false;
  std::optional<RankPlan> plan_;
  absl::Time start_;
  absl::Time rpc_deadline_ = absl::InfiniteFuture();
  fetch::GroupId group_ = 0;
  bool group_open_ = false;
  bool registered_ = false;            // in the ServiceState's registry (Drain reaches it)
  std::atomic<bool> draining_{false};  // Drain ran (written under mu_)
  uint64_t reserved_jobs_ = 0;  // room taken in the server's job queue, given back in OnDone

  std::mutex mu_;
  bool cancelled_ = false;             // OnCancel ran
  std::vector<RankJob> jobs_;          // by tag; written before their submit
  uint64_t pending_ = 0;               // jobs (and the index fetch) not yet completed
  std::vector<extract::Scored> scored_;
  std::map<int, uint64_t> status_counts_;
  std::string caller_name_ = "unauthenticated";
  uint64_t bytes_ = 0;
  std::optional<grpc::Status> failure_;  // ends the RPC with this status once jobs drained
  std::deque<v1::FetchAndRankResponse> outbound_;
  bool writing_ = false;  // a write is outstanding (see write_)
  WriteHandoff write_;
  bool write_failed_ = false;
  bool summary_queued_ = false;
  bool finished_ = false;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_FETCH_AND_RANK_REACTOR_H_
