// The BatchLookup bidirectional-streaming reactor.
//
// Threads: the constructor, OnReadDone, OnWriteDone, OnCancel, the flush alarm and OnDone run on
// gRPC threads; OnFetchDone on the fetch engine's loop threads (several at once); Drain on
// main's thread at shutdown. mu_ guards everything below
// it. At most one read and one write are in flight.
//
// Flow control: a key counts as outstanding from the moment its message is read until the
// message carrying its result has been written. The next key message is read only while fewer
// than window_ keys are outstanding, so a slow upstream or a slow reader stops the reads and gRPC
// flow control pushes back on the caller; memory is bounded by the window, not by the number of
// keys.
//
// Batching: results collect in filling_; it is sent when it holds kBatchRows rows or kBatchBytes,
// when its oldest row is kFlushDelay old (the alarm), or when the input is drained. While one
// batch is on the wire the next one fills; the two messages are swapped and reused.
//
// Shutdown: Drain stops reading keys (a key message that arrives later is dropped unread), cancels
// the jobs in the engine so their CANCELLED rows are sent, and ends the call: OK when the caller
// had already sent every key (each one got a row), UNAVAILABLE when keys were left unread (the
// caller resumes them on another server).
//
// Lifetime: every pending job, the outstanding read or write and an armed alarm keep the reactor
// alive; Finish is called once all of them are done and OnDone deletes. A write is outstanding
// until both its OnWriteDone ran and the thread that started it returned (WriteHandoff). Code that
// runs after mu_ is released and nothing keeps the call alive touches only locals (the engine
// and the group id are copied first): another thread may finish the call and delete it.
#ifndef GATHER_SERVICE_RPC_BATCH_LOOKUP_REACTOR_H_
#define GATHER_SERVICE_RPC_BATCH_LOOKUP_REACTOR_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "service/fetch/fetch_engine.h"
#include "service/rpc/lookup_request.h"
#include "service/rpc/service_state.h"
#include "service/rpc/write_handoff.h"

namespace gather::rpc {

class BatchLookupReactor final
    : public grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse>,
      public fetch::FetchSink,
      public Drainable {
 public:
  static constexpr int kBatchRows = 100;
  static constexpr size_t kBatchBytes = 1 << 20;
  static constexpr absl::Duration kFlushDelay = absl::Milliseconds(5);

  BatchLookupReactor(ServiceState* state, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  void OnFetchDone(uint64_t tag, fetch::FetchResult& result) override;
  void Drain() override;

 private:
  // Finish() with the RPC's status recorded in the metrics.
  void FinishRpc(const grpc::Status& status);
  // A key between its read and its completion; the job's tag is the slot's index.
  struct Slot {
    uint64_t seq = 0;
    std::string key;
  };
  // What to start once mu_ is released.
  struct Action {
    bool read = false;
    const v1::BatchLookupResponse* write = nullptr;
    bool arm_alarm = false;
    std::optional<grpc::Status> finish;
  };

  // The first message: validates the spec and opens the engine group.
  void HandleSpec();
  void HandleKeys();
  void OnAlarm();
  // Ends the RPC with `status` once in-flight work has drained (call with mu_ held).
  void FailLocked(grpc::Status status);
  // Drops the rows not yet sent (the caller is gone or the RPC failed).
  void DropUnsentLocked();
  v1::LookupResult* AddRowLocked(uint64_t seq, v1::JobStatus status);
  // Decides the next read, write, alarm or Finish (call with mu_ held).
  Action NextLocked();
  // The bookkeeping of a write that is over (WriteHandoff). Returns whether the group's jobs
  // must be cancelled (the write failed: the caller is gone). Call with mu_ held.
  bool WriteOverLocked(bool ok);
  // One of a write's two ends (WriteHandoff): the starting thread `returned` from StartWrite, or
  // OnWriteDone(ok) ran. When that makes the write over: its bookkeeping, the group cancelled if
  // the write failed, and what to start next; nullopt while the other end is still to come.
  std::optional<Action> EndWritePart(bool returned, bool ok);
  // Starts what `action` says. Static, and `self` is touched only when the action has
  // something to do: with nothing to do, another thread may already have deleted the call
  // (even a member call on it would be undefined).
  static void Act(BatchLookupReactor* self, Action action);

  ServiceState* state_;
  grpc::CallbackServerContext* context_;
  bool admitted_ = false;  // also: registered in the ServiceState (Drain reaches it)
  auth::Caller caller_{"unauthenticated", false, {}};  // who called; set in the constructor
  absl::Time start_;
  absl::Time rpc_deadline_ = absl::InfiniteFuture();
  v1::BatchLookupRequest request_;  // the read buffer; touched only between StartRead and its OnReadDone
  std::optional<LookupPlan> plan_;  // set once by HandleSpec before any job exists; then read-only
  uint64_t key_messages_ = 0;       // read-side only

  std::mutex mu_;
  fetch::GroupId group_ = 0;
  bool group_open_ = false;
  bool cancelled_ = false;  // OnCancel ran
  bool draining_ = false;   // Drain ran
  bool input_cut_ = false;  // Drain stopped the input before the caller half-closed
  uint64_t window_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t pending_ = 0;      // jobs in the engine
  uint64_t outstanding_ = 0;  // keys read whose row has not been written yet
  uint64_t keys_ = 0;
  uint64_t bytes_ = 0;
  std::array<uint64_t, v1::JobStatus_ARRAYSIZE> status_counts_{};
  v1::BatchLookupResponse filling_;
  v1::BatchLookupResponse sending_;
  v1::BatchLookupResponse summary_;
  size_t filling_bytes_ = 0;
  size_t sending_rows_ = 0;
  bool reading_ = false;
  bool input_done_ = false;
  bool writing_ = false;  // a write is outstanding (see write_)
  WriteHandoff write_;
  bool write_failed_ = false;
  bool flush_due_ = false;
  bool alarm_armed_ = false;
  bool summary_sent_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> failure_;

  // A fresh alarm per arming: the previous one may still be running its callback, and gRPC keeps
  // its state alive until that returns. alarm_mu_ orders replacements.
  std::mutex alarm_mu_;
  std::unique_ptr<grpc::Alarm> alarm_;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_BATCH_LOOKUP_REACTOR_H_
