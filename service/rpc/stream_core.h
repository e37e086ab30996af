// StreamCore: the outbound half of a gatherd streaming call, shared by both reactors.
//
// It owns the call's mutex and, under it, the results not yet written (packed into batches),
// the one write in flight, the flush alarm, the summary, the RPC's failure status, the per-status
// counts, and the single Finish with its metrics and JSON log line. The reactor that embeds it
// keeps its own state (jobs, reads) under the same mutex (mu()) and reaches the call through a
// StreamHost, so the core names no reactor.
//
// Threads: AddRowLocked, FailLocked, PumpLocked and FlushSoonLocked run on any thread with mu()
// held (engine loop threads, gRPC threads, main's thread in Drain). OnWriteDone and the alarm run
// on gRPC threads. FinishRpc runs on the thread that got a status from PumpLocked, once mu() is
// released; it is the last thing that thread does with the call.
//
// Writes: StartWrite is called with mu() held; gRPC never runs OnWriteDone inline, so the
// OnWriteDone of a write cannot take mu() before the thread that started it released it. One
// write is in flight at a time. Finish is called without the mutex (OnDone may delete the call on
// another thread before Finish returns) and only when no write, alarm or host work is left.
//
// Batching: rows collect in filling_; a batch is sent when it holds options.batch_rows rows or
// options.batch_bytes, when its oldest row is options.flush_delay old (the alarm), or when the
// host says no more rows will come. While one batch is on the wire the next one fills. With
// options.single_row_messages every row goes out in a message of its own (the host's unbatched
// shape), in order.
//
// Memory: the core holds the rows added and not yet written; it never blocks the thread that
// adds one. What bounds them is the host: BatchLookup stops reading keys while
// pending jobs + held_rows_locked() reach its window; FetchAndRank's rows are bounded by the
// call's job count, which the server's job queue (--max_queued_jobs) bounds across all calls.
// Rows are compact (no bodies); once a write failed or the call failed, rows are dropped.
#ifndef GATHER_SERVICE_RPC_STREAM_CORE_H_
#define GATHER_SERVICE_RPC_STREAM_CORE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "grpcpp/alarm.h"
#include "grpcpp/grpcpp.h"
#include "service/observe/metrics.h"
#include "service/rpc/service_state.h"
#include "service/rpc/summaries.h"

namespace gather::rpc {

// What a StreamCore needs of its call. Implemented by the reactor; the Locked methods are called
// with the core's mutex held, FinishCall without it (and it is the core's last act).
template <typename Response, typename Row>
class StreamHost {
 public:
  virtual ~StreamHost() = default;
  // Starts writing `message` (the reactor's StartWrite).
  virtual void StartWriteLocked(const Response* message) = 0;
  // Ends the call (the reactor's Finish).
  virtual void FinishCall(const grpc::Status& status) = 0;
  // True once no more rows will be added and nothing else of the host keeps the call open.
  virtual bool DrainedLocked() = 0;
  // Fills the last message (sent once, after every row).
  virtual void BuildSummaryLocked(Response* message) = 0;
  // How the call ends once its summary was written: OK, or a shutdown's UNAVAILABLE.
  virtual grpc::Status EndStatusLocked() = 0;
  // A write failed (the caller is gone): stop the input and cancel the jobs.
  virtual void StreamBrokeLocked() = 0;
  // Called at the start of every PumpLocked: the host may start a read here.
  virtual void PumpInputLocked() {}
  // The rows of a batch message (the host's batched shape).
  virtual google::protobuf::RepeatedPtrField<Row>* BatchRows(Response* message) = 0;
  // The row of a one-row message (the unbatched shape); used with single_row_messages.
  virtual Row* SingleRow(Response* message) = 0;
};

struct StreamOptions {
  observe::Method method = observe::Method::kFetchAndRank;
  std::string method_name;  // in the log line
  std::string count_name;   // the log line's field for the rows counted ("jobs", "keys")
  size_t batch_rows = 100;
  size_t batch_bytes = size_t{1} << 20;
  absl::Duration flush_delay = absl::Milliseconds(5);
  bool single_row_messages = false;
};

// The per-RPC metrics and "rpc" log line (stream_core.cc).
void RecordRpcEnd(const ServiceState& state, const StreamOptions& options,
                  const grpc::Status& status, absl::Duration wall, const std::string& caller,
                  const std::string& peer, const StatusCounts& counts, uint64_t bytes);

template <typename Response, typename Row>
class StreamCore {
 public:
  // Rough wire size of a row besides its strings and values.
  static constexpr size_t kRowOverheadBytes = 48;

  StreamCore(StreamHost<Response, Row>* host, ServiceState* state,
             grpc::CallbackServerContext* context, StreamOptions options)
      : host_(host), state_(state), context_(context), options_(std::move(options)),
        start_(absl::Now()) {
    if (options_.single_row_messages) options_.batch_rows = 1;
  }
  StreamCore(const StreamCore&) = delete;
  StreamCore& operator=(const StreamCore&) = delete;

  std::mutex& mu() { return mu_; }
  absl::Time start() const { return start_; }
  // Set before any other thread sees the call.
  void set_caller(std::string name) { caller_ = std::move(name); }

  // A row for `seq` ending with `status`, counted; nullptr when the call fails or the stream
  // broke (the row would never be read; it is counted but dropped).
  // `counted`: the row is the outcome of a job (the summary's status counts); the other rows of
  // a key with several (pages) pass false for all but one.
  Row* AddRowLocked(uint64_t seq, v1::JobStatus status, bool counted = true) {
    if (counted) counts_.Add(status);
    if (stopping_locked()) return nullptr;
    Row* row = host_->BatchRows(&filling_)->Add();
    row->set_seq(seq);
    row->set_status(status);
    filling_bytes_ += kRowOverheadBytes;
    return row;
  }
  // Adds to the wire size estimate of the rows being filled.
  void AddRowBytesLocked(size_t bytes) { filling_bytes_ += bytes; }
  // Body bytes received by the call's jobs (summary and log).
  void AddBodyBytesLocked(uint64_t bytes) { body_bytes_ += bytes; }
  // A job's retries waited `wait` for the host's retry budget (summary).
  void AddBudgetWaitLocked(absl::Duration wait) {
    if (wait <= absl::ZeroDuration()) return;
    budget_wait_ += wait;
    ++jobs_waited_;
  }

  // Ends the call with `status` once the host is drained; unsent rows are dropped.
  void FailLocked(grpc::Status status) {
    if (!failure_) failure_ = std::move(status);
    DropUnsentLocked();
  }
  bool stopping_locked() const { return failure_.has_value() || write_failed_; }
  bool finished_locked() const { return finished_; }
  // Rows added and not yet written (the ones in flight included).
  size_t held_rows_locked() const {
    return static_cast<size_t>(host_->BatchRows(&filling_)->size()) + unsent_left() +
           sending_rows_;
  }
  const StatusCounts& counts_locked() const { return counts_; }
  uint64_t body_bytes_locked() const { return body_bytes_; }
  absl::Duration budget_wait_locked() const { return budget_wait_; }
  uint64_t jobs_waited_locked() const { return jobs_waited_; }

  // Starts what the call's state allows (the host's read, the next write, the alarm) and returns
  // the status to end the call with, if it is time: pass it to FinishRpc once mu() is released.
  [[nodiscard]] std::optional<grpc::Status> PumpLocked() {
    if (finished_) return std::nullopt;
    host_->PumpInputLocked();
    const bool drained = host_->DrainedLocked();
    if (!stopping_locked() && !writing_) StartNextWriteLocked(drained);
    if (!stopping_locked() && !alarm_armed_ && options_.batch_rows > 1 &&
        host_->BatchRows(&filling_)->size() > 0) {
      ArmAlarmLocked();
    }
    if (!drained || writing_ || alarm_armed_) return std::nullopt;
    if (stopping_locked()) {
      finished_ = true;
      return failure_ ? *failure_ : grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke");
    }
    if (!summary_sent_) return std::nullopt;
    finished_ = true;
    return host_->EndStatusLocked();
  }

  // Re-evaluates the call soon on a gRPC thread (for a thread that must not finish the call).
  void FlushSoonLocked() {
    if (!finished_ && !alarm_armed_) ArmAlarmLocked();
  }

  // Ends the call now, before any other thread knows it (the reactor's constructor).
  void FinishEarly(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_ = true;
    }
    FinishRpc(status);
  }

  // The reactor's OnWriteDone.
  void OnWriteDone(bool ok) {
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      sending_rows_ = 0;
      if (!options_.single_row_messages) host_->BatchRows(&sending_)->Clear();  // kept for reuse
      if (!ok && !write_failed_) {
        write_failed_ = true;
        DropUnsentLocked();
        host_->StreamBrokeLocked();
      }
      finish = PumpLocked();
    }
    if (finish) FinishRpc(*finish);
  }

  // Records the end of the RPC (metrics, log line) and calls the host's Finish. Every row is
  // counted by now (PumpLocked decided the end under mu()), so the counts are read unlocked.
  // Nothing may touch the call after this: OnDone may delete it on another thread.
  void FinishRpc(const grpc::Status& status) {
    RecordRpcEnd(*state_, options_, status, absl::Now() - start_, caller_, context_->peer(),
                 counts_, body_bytes_);
    host_->FinishCall(status);
  }

 private:
  size_t unsent_left() const {
    return static_cast<size_t>(host_->BatchRows(&unsent_)->size()) - unsent_next_;
  }

  void StartNextWriteLocked(bool drained) {
    auto* filling = host_->BatchRows(&filling_);
    const size_t rows = static_cast<size_t>(filling->size());
    if (options_.single_row_messages) {
      if (unsent_left() == 0 && rows > 0) {
        host_->BatchRows(&unsent_)->Clear();
        filling_.Swap(&unsent_);
        unsent_next_ = 0;
        filling_bytes_ = 0;
      }
      if (unsent_left() > 0) {
        Row* row = host_->BatchRows(&unsent_)->Mutable(static_cast<int>(unsent_next_++));
        host_->SingleRow(&sending_)->Swap(row);
        StartWriteLocked(&sending_, 1);
        return;
      }
    } else if (rows > 0 && (rows >= options_.batch_rows || filling_bytes_ >= options_.batch_bytes ||
                            flush_due_ || drained)) {
      filling_.Swap(&sending_);
      filling_bytes_ = 0;
      flush_due_ = false;
      StartWriteLocked(&sending_, rows);
      return;
    }
    if (rows == 0 && unsent_left() == 0 && drained && !summary_sent_) {
      summary_sent_ = true;
      host_->BuildSummaryLocked(&summary_);
      StartWriteLocked(&summary_, 0);
    }
  }

  void StartWriteLocked(const Response* message, size_t rows) {
    writing_ = true;
    sending_rows_ = rows;
    host_->StartWriteLocked(message);
  }

  // A fresh alarm per arming: the previous one may still be returning from its callback, and
  // gRPC keeps its state alive until then. Set under mu_: the callback takes mu_ first.
  void ArmAlarmLocked() {
    alarm_armed_ = true;
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options_.flush_delay),
                [this](bool) { OnAlarm(); });
  }

  void OnAlarm() {
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      alarm_armed_ = false;
      if (host_->BatchRows(&filling_)->size() > 0) flush_due_ = true;
      finish = PumpLocked();
    }
    if (finish) FinishRpc(*finish);
  }

  void DropUnsentLocked() {
    host_->BatchRows(&filling_)->Clear();
    host_->BatchRows(&unsent_)->Clear();
    unsent_next_ = 0;
    filling_bytes_ = 0;
  }

  StreamHost<Response, Row>* const host_;
  ServiceState* const state_;
  grpc::CallbackServerContext* const context_;
  StreamOptions options_;
  const absl::Time start_;
  std::string caller_ = "unauthenticated";

  std::mutex mu_;
  // Everything below is guarded by mu_. BatchRows takes a mutable message; the const accessors
  // above only read sizes, hence mutable.
  mutable Response filling_;  // rows being collected
  mutable Response unsent_;   // single_row_messages: rows taken from filling_, sent one by one
  size_t unsent_next_ = 0;    // the next row of unsent_ to send
  Response sending_;          // the message on the wire
  Response summary_;
  size_t filling_bytes_ = 0;
  size_t sending_rows_ = 0;
  StatusCounts counts_;
  uint64_t body_bytes_ = 0;
  absl::Duration budget_wait_ = absl::ZeroDuration();
  uint64_t jobs_waited_ = 0;
  std::optional<grpc::Status> failure_;
  bool writing_ = false;
  bool write_failed_ = false;
  bool flush_due_ = false;
  bool alarm_armed_ = false;
  bool summary_sent_ = false;
  bool finished_ = false;
  std::unique_ptr<grpc::Alarm> alarm_;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_STREAM_CORE_H_
