// The BatchLookup bidirectional-streaming reactor.
//
// Owns the read side (the spec, key messages, the window) and the jobs; the outbound side
// (batches, the write in flight, the flush alarm, the summary, Finish, metrics and the log line)
// is its StreamCore, whose mutex guards the state below it. Threads: the constructor,
// OnReadDone, OnWriteDone, OnCancel and OnDone run on gRPC threads; OnFetchDone on the fetch
// engine's loop threads (several at once); Drain on main's thread at shutdown. At most one read
// and one write are in flight.
//
// Flow control: a key counts as outstanding from the moment its message is read until the
// message carrying its result has been written (pending jobs plus the core's held rows). The next
// key message is read only while fewer than window_ keys are outstanding, so a slow upstream or a
// slow reader stops the reads and gRPC flow control pushes back on the caller; memory is bounded
// by the window, not by the number of keys.
//
// Pages (LookupSpec.paging): a key stays one slot and one pending job from its first page to
// its last; each page's completion submits the next page's job under the same tag, and the rows
// the pages gave wait in the slot's KeyPages until the key ends, then go to the core one after
// another (service/rpc/batch_lookup_pages.cc). Rows held in slots count toward the window too.
//
// Shutdown: Drain stops reading keys (a key message that arrives later is dropped unread), cancels
// the jobs in the engine so their CANCELLED rows are sent, and ends the call: OK when the caller
// had already sent every key (each one got a row), UNAVAILABLE when keys were left unread (the
// caller resumes them on another server).
//
// Lifetime: every pending job, the outstanding read, the core's write and its armed alarm keep
// the reactor alive; the core calls Finish once all of them are done and OnDone deletes.
#ifndef GATHER_SERVICE_RPC_BATCH_LOOKUP_REACTOR_H_
#define GATHER_SERVICE_RPC_BATCH_LOOKUP_REACTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/fetch/fetch_engine.h"
#include "service/rpc/key_pages.h"
#include "service/rpc/lookup_request.h"
#include "service/rpc/service_state.h"
#include "service/rpc/stream_core.h"

namespace gather::rpc {

class BatchLookupReactor final
    : public grpc::ServerBidiReactor<v1::BatchLookupRequest, v1::BatchLookupResponse>,
      public fetch::FetchSink,
      public Drainable,
      private StreamHost<v1::BatchLookupResponse, v1::LookupResult> {
 public:
  static constexpr int kBatchRows = 100;
  static constexpr size_t kBatchBytes = 1 << 20;
  static constexpr absl::Duration kFlushDelay = absl::Milliseconds(5);

  BatchLookupReactor(ServiceState* state, grpc::CallbackServerContext* context);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override { core_.OnWriteDone(ok); }
  void OnCancel() override;
  void OnDone() override;
  void OnFetchDone(uint64_t tag, fetch::FetchResult& result) override;
  void Drain() override;

 private:
  using Core = StreamCore<v1::BatchLookupResponse, v1::LookupResult>;
  // A key between its read and its completion; the job's tag is the slot's index.
  struct Slot {
    uint64_t seq = 0;
    std::string key;
    // Paged calls: the key's pages so far. Touched without the mutex only by the thread that
    // completes the key's current page (one job per key at a time); the pointer stays valid when
    // slots_ grows.
    std::unique_ptr<KeyPages> pages;
  };

  // StreamHost (called by core_).
  void StartWriteLocked(const v1::BatchLookupResponse* message) override { StartWrite(message); }
  void FinishCall(const grpc::Status& status) override { Finish(status); }
  bool DrainedLocked() override { return input_done_ && !reading_ && pending_ == 0; }
  void BuildSummaryLocked(v1::BatchLookupResponse* message) override;
  grpc::Status EndStatusLocked() override;
  void StreamBrokeLocked() override;
  void PumpInputLocked() override;
  google::protobuf::RepeatedPtrField<v1::LookupResult>* BatchRows(
      v1::BatchLookupResponse* message) override {
    return message->mutable_results()->mutable_results();
  }
  v1::LookupResult* SingleRow(v1::BatchLookupResponse*) override { return nullptr; }  // unused

  // The first message: validates the spec and opens the engine group.
  void HandleSpec();
  void HandleKeys();
  // A page of a paged call answered (engine thread): submits the next page or ends the key.
  void OnPageDone(uint64_t tag, fetch::FetchResult& result);
  // Sends the rows of the key in `slot` as its pages ended (`step`), and frees the slot.
  void EndPagedKeyLocked(uint32_t tag, KeyPages::Step& step, const fetch::FetchResult& last);
  // Frees a slot whose key has its rows.
  void FreeSlotLocked(uint32_t tag);
  // Ends the RPC with `status` once in-flight work has drained (call with the mutex held).
  void FailLocked(grpc::Status status);
  // Done with the read buffer (call with the mutex held): once reading_ is false any thread may
  // start the next read into request_.
  void EndReadLocked();
  // Ends the read with `status` as the call's failure, then pumps (takes the mutex).
  void FailRead(grpc::Status status);

  ServiceState* state_;
  grpc::CallbackServerContext* context_;
  Core core_;
  bool admitted_ = false;  // also: registered in the ServiceState (Drain reaches it)
  auth::Caller caller_{"unauthenticated", false, {}};  // who called; set in the constructor
  absl::Time rpc_deadline_ = absl::InfiniteFuture();
  v1::BatchLookupRequest request_;  // the read buffer; touched only between StartRead and its OnReadDone
  std::optional<LookupPlan> plan_;  // set once by HandleSpec before any job exists; then read-only
  uint64_t key_messages_ = 0;       // read-side only

  // Guarded by core_.mu().
  fetch::GroupId group_ = 0;
  bool group_open_ = false;
  bool cancelled_ = false;  // OnCancel ran
  bool draining_ = false;   // Drain ran
  bool input_cut_ = false;  // Drain stopped the input before the caller half-closed
  uint64_t window_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t pending_ = 0;  // jobs in the engine
  uint64_t keys_ = 0;
  // Paged calls (summary and window): pages received, rows sent, items left out, keys cut by
  // max_pages, and rows waiting in slots for their key's last page.
  uint64_t pages_ = 0;
  uint64_t rows_ = 0;
  uint64_t items_filtered_ = 0;
  uint64_t keys_cut_ = 0;
  uint64_t slot_rows_ = 0;
  bool reading_ = false;
  bool input_done_ = false;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_BATCH_LOOKUP_REACTOR_H_
