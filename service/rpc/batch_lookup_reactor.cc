#include "service/rpc/batch_lookup_reactor.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/extract/fields.h"
#include "service/observe/log.h"
#include "service/rpc/call_auth.h"
#include "service/rpc/request_common.h"
#include "service/rpc/status_convert.h"
#include "simdjson.h"

namespace gather::rpc {
namespace {

// Parser and extraction scratch of the thread that completes jobs (an engine loop thread),
// reused across bodies.
simdjson::ondemand::parser& ThreadParser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}
extract::ExtractOutcome& ThreadOutcome() {
  thread_local extract::ExtractOutcome outcome;
  return outcome;
}

constexpr size_t kRowOverheadBytes = 48;

}  // namespace

BatchLookupReactor::BatchLookupReactor(ServiceState* state, grpc::CallbackServerContext* context)
    : state_(state), context_(context), start_(absl::Now()) {
  filling_.mutable_results();
  sending_.mutable_results();
  if (auto caller = AuthenticateCall(state_->auth, *context_); !caller.ok()) {
    finished_ = true;
    FinishRpc(ToGrpcStatus(caller.status()));
    return;
  } else {
    caller_ = *std::move(caller);
  }
  if (!state_->TryAdmit()) {
    finished_ = true;
    FinishRpc(state_->AdmissionRefusal());
    return;
  }
  admitted_ = true;
  rpc_deadline_ = RpcDeadline(context_->deadline());
  {
    // Before Register: from there on Drain may run, and a drained call must wait for this read.
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = true;
  }
  state_->Register(this);
  StartRead(&request_);
}

void BatchLookupReactor::OnReadDone(bool ok) {
  if (!ok) {
    // Half-close (or the call broke): the input is complete.
    Action action;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_ = false;
      input_done_ = true;
      if (!plan_ && !failure_) {
        failure_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "spec: the stream ended before a LookupSpec was sent");
      }
      action = NextLocked();
    }
    Act(this, action);
    return;
  }
  {
    Action action;
    bool dropped = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (failure_ || write_failed_ || draining_) {
        // The RPC is ending; the message is dropped unread.
        dropped = true;
        reading_ = false;
        request_.Clear();
        action = NextLocked();
      }
    }
    if (dropped) {
      Act(this, action);
      return;
    }
  }
  if (!plan_) {
    HandleSpec();
  } else {
    HandleKeys();
  }
}

void BatchLookupReactor::HandleSpec() {
  Action action;
  if (request_.kind_case() != v1::BatchLookupRequest::kSpec) {
    std::lock_guard<std::mutex> lock(mu_);
    request_.Clear();
    reading_ = false;
    FailLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "spec: the first message must carry a LookupSpec"));
    action = NextLocked();
  } else if (auto credential = ResolveCredential(
                 request_.spec().credential(), "spec.credential", caller_,
                 state_->auth != nullptr ? state_->auth->profiles() : nullptr);
             !credential.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    request_.Clear();
    reading_ = false;
    FailLocked(ToGrpcStatus(credential.status()));
    action = NextLocked();
  } else if (auto plan = BuildLookupPlan(request_.spec(), state_->limits, credential->get());
             !plan.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    request_.Clear();
    reading_ = false;
    FailLocked(ToGrpcStatus(plan.status()));
    action = NextLocked();
  } else {
    plan_ = *std::move(plan);
    fetch::GroupOptions options =
        GroupOptionsFor(plan_->policy, JobDeadline(rpc_deadline_, start_));
    fetch::FetchEngine* const engine = state_->engine;
    fetch::GroupId group = engine->OpenGroup(this, options);
    {
      std::lock_guard<std::mutex> lock(mu_);
      request_.Clear();
      group_ = group;
      group_open_ = true;
      // No job yet; a cancel that came first ends the jobs the first keys will start (HandleKeys).
      // Enough keys to keep every transfer busy and the next result batch full, plus one key
      // message of headroom (a message is taken whole).
      window_ = std::max<uint64_t>(4 * static_cast<uint64_t>(plan_->policy.concurrency), 2048);
      reading_ = false;
      action = NextLocked();
    }
  }
  Act(this, action);
}

void BatchLookupReactor::HandleKeys() {
  ++key_messages_;
  absl::Status invalid;
  if (request_.kind_case() == v1::BatchLookupRequest::kSpec) {
    invalid = FieldError(absl::StrCat("spec (message ", key_messages_ + 1, ")"),
                         "the spec may only be sent once, in the first message");
  } else if (request_.kind_case() != v1::BatchLookupRequest::kKeys) {
    invalid = FieldError(absl::StrCat("kind (message ", key_messages_ + 1, ")"),
                         "a message after the spec must carry keys");
  } else {
    invalid = ValidateKeyBatch(request_.keys(), key_messages_ - 1, state_->limits);
  }
  if (!invalid.ok()) {
    fetch::FetchEngine* const engine = state_->engine;
    const fetch::GroupId group = group_;
    Action action;
    {
      std::lock_guard<std::mutex> lock(mu_);
      request_.Clear();
      reading_ = false;
      FailLocked(ToGrpcStatus(invalid));
      if (group_open_) engine->CancelGroup(group, fetch::FetchOutcome::kCancelled);
      action = NextLocked();
    }
    Act(this, action);
    return;
  }

  // URLs are built outside the lock; tags (slots) are assigned under it.
  auto* keys = request_.mutable_keys()->mutable_keys();
  const int count = keys->size();
  std::vector<std::pair<uint64_t, fetch::FetchRequest>> batch;
  batch.reserve(static_cast<size_t>(count));
  std::vector<std::pair<int, std::string>> invalid_keys;  // (index in the message, why)
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<fetch::FetchRequest> fetch_request =
        RequestForKey(*plan_, (*keys)[i], state_->limits);
    if (!fetch_request.ok()) {
      invalid_keys.emplace_back(i, std::string(fetch_request.status().message()));
      continue;
    }
    batch.emplace_back(static_cast<uint64_t>(i), *std::move(fetch_request));
  }

  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    outstanding_ += static_cast<uint64_t>(count);
    keys_ += static_cast<uint64_t>(count);
    for (auto& [index, request] : batch) {
      v1::Key& key = (*keys)[static_cast<int>(index)];
      uint32_t slot;
      if (free_slots_.empty()) {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
      } else {
        slot = free_slots_.back();
        free_slots_.pop_back();
      }
      slots_[slot].seq = key.seq();
      slots_[slot].key = std::move(*key.mutable_key());
      index = slot;  // the job's tag from here on
    }
    pending_ += batch.size();
    for (auto& [index, why] : invalid_keys) {
      v1::Key& key = (*keys)[index];
      v1::LookupResult* row = AddRowLocked(key.seq(), v1::JOB_STATUS_INVALID_KEY);
      if (state_->metrics != nullptr) {
        state_->metrics->JobDone(observe::Method::kBatchLookup, v1::JOB_STATUS_INVALID_KEY,
                                 -absl::InfiniteDuration(), 0, 0);
      }
      if (row != nullptr) {
        filling_bytes_ += key.key().size() + why.size();
        row->set_key(std::move(*key.mutable_key()));
        row->set_error(std::move(why));
      }
    }
    // Submitted under mu_, like every CancelGroup of this call: a cancel either came first (and is
    // repeated here for these jobs) or comes after them. Completions wait for mu_.
    if (!batch.empty()) {
      state_->engine->SubmitBatch(group_, std::move(batch));
      if (cancelled_ || draining_ || write_failed_ || failure_) {
        state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
      }
    }
    // Done with the read buffer. Once reading_ is false any thread (a completion, a write, the
    // alarm) may start the next read into request_, so it is cleared before that, under mu_.
    request_.Clear();
    reading_ = false;
    action = NextLocked();
  }
  Act(this, action);
}

void BatchLookupReactor::OnFetchDone(uint64_t tag, fetch::FetchResult& result) {
  std::string error;
  v1::JobStatus status = JobStatusOf(result, state_->follow_redirects, &error);
  extract::ExtractOutcome* extracted = nullptr;
  if (status == v1::JOB_STATUS_OK && plan_->parses_body()) {
    extracted = &ThreadOutcome();
    extract::ExtractFields(ThreadParser(), extract::PadForParse(result.body), plan_->fields,
                           plan_->required, *extracted);
    switch (extracted->status) {
      case extract::ExtractStatus::kOk: break;
      case extract::ExtractStatus::kMissing: status = v1::JOB_STATUS_MISSING; break;
      case extract::ExtractStatus::kBadContent: status = v1::JOB_STATUS_BAD_CONTENT; break;
    }
    if (status != v1::JOB_STATUS_OK) error = std::move(extracted->error);
  }
  if (state_->metrics != nullptr) {
    state_->metrics->JobDone(observe::Method::kBatchLookup, status,
                             result.shared ? -absl::InfiniteDuration() : result.latency,
                             result.attempts, result.body.size());
  }

  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Slot& slot = slots_[tag];
    --pending_;
    bytes_ += result.body.size();
    v1::LookupResult* row = AddRowLocked(slot.seq, status);
    if (row != nullptr) {
      filling_bytes_ += slot.key.size() + error.size() + result.body.size() / 4;
      row->set_key(std::move(slot.key));
      row->set_http_status(result.http_status);
      if (status == v1::JOB_STATUS_OK && extracted != nullptr) {
        for (const std::string& value : extracted->values) {
          row->add_values(value);
          filling_bytes_ += value.size();
        }
      }
      row->set_error(std::move(error));
      row->set_attempts(result.attempts);
      row->set_latency_ms(absl::ToDoubleMilliseconds(result.latency));
      row->set_queue_ms(absl::ToDoubleMilliseconds(result.queue_wait));
      row->set_bytes(result.body.size());
      if (result.shared) row->set_shared(true);
    }
    slot.key.clear();
    free_slots_.push_back(static_cast<uint32_t>(tag));
    action = NextLocked();
  }
  Act(this, action);
}

v1::LookupResult* BatchLookupReactor::AddRowLocked(uint64_t seq, v1::JobStatus status) {
  ++status_counts_[status];
  if (failure_ || write_failed_) {
    // Nobody will read this row; it no longer holds back anything.
    --outstanding_;
    return nullptr;
  }
  v1::LookupResult* row = filling_.mutable_results()->add_results();
  row->set_seq(seq);
  row->set_status(status);
  filling_bytes_ += kRowOverheadBytes;
  return row;
}

void BatchLookupReactor::FailLocked(grpc::Status status) {
  if (!failure_) failure_ = std::move(status);
  input_done_ = true;
  DropUnsentLocked();
}

void BatchLookupReactor::DropUnsentLocked() {
  outstanding_ -= static_cast<uint64_t>(filling_.results().results_size());
  filling_.mutable_results()->mutable_results()->Clear();
  filling_bytes_ = 0;
}

BatchLookupReactor::Action BatchLookupReactor::NextLocked() {
  Action action;
  if (finished_) return action;
  const bool stopping = failure_.has_value() || write_failed_;
  const int rows = filling_.results().results_size();
  const bool drained = input_done_ && !reading_ && pending_ == 0;
  if (!stopping) {
    if (!reading_ && !input_done_ && plan_ && outstanding_ < window_) {
      reading_ = true;
      action.read = true;
    }
    if (!writing_ && rows > 0 &&
        (rows >= kBatchRows || filling_bytes_ >= kBatchBytes || flush_due_ || drained)) {
      filling_.Swap(&sending_);
      sending_rows_ = static_cast<size_t>(rows);
      filling_bytes_ = 0;
      flush_due_ = false;
      writing_ = true;
      write_.Begin();
      action.write = &sending_;
    } else if (!writing_ && rows == 0 && drained && !summary_sent_) {
      v1::LookupSummary* summary = summary_.mutable_summary();
      summary->set_keys(keys_);
      for (int status = 0; status < v1::JobStatus_ARRAYSIZE; ++status) {
        if (status_counts_[status] == 0) continue;
        v1::StatusCount* item = summary->add_status_counts();
        item->set_status(static_cast<v1::JobStatus>(status));
        item->set_count(status_counts_[status]);
      }
      summary->set_wall_ms(absl::ToDoubleMilliseconds(absl::Now() - start_));
      summary->set_bytes(bytes_);
      summary->set_rate(state_->engine->HostRate(plan_->host));
      summary_sent_ = true;
      sending_rows_ = 0;
      writing_ = true;
      write_.Begin();
      action.write = &summary_;
    }
    if (filling_.results().results_size() > 0 && !alarm_armed_) {
      alarm_armed_ = true;
      action.arm_alarm = true;
    }
  }
  if (drained && !writing_ && !alarm_armed_ && !action.write) {
    if (stopping) {
      finished_ = true;
      action.finish = failure_ ? *failure_
                               : grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke");
    } else if (summary_sent_) {
      finished_ = true;
      action.finish = input_cut_
                          ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                         "gatherd is shutting down: the keys after the last "
                                         "row were not read; resume them on another server")
                          : grpc::Status::OK;
    }
  }
  return action;
}

void BatchLookupReactor::Act(BatchLookupReactor* self, Action action) {
  while (true) {
    // Nothing may touch `self` after Finish: OnDone may delete it on another thread.
    if (action.finish) {
      self->FinishRpc(*action.finish);
      return;
    }
    if (action.arm_alarm) {
      grpc::Alarm* alarm;
      {
        std::lock_guard<std::mutex> lock(self->alarm_mu_);
        self->alarm_ = std::make_unique<grpc::Alarm>();
        alarm = self->alarm_.get();
      }
      // Set outside alarm_mu_: the alarm may fire on another thread, finish the call and let
      // OnDone delete `this` before Set returns, and a lock held here would then be released on
      // freed memory. Nothing below touches `self` unless a read or write keeps the call alive.
      alarm->Set(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(kFlushDelay),
                 [self](bool) { self->OnAlarm(); });
    }
    if (action.read) self->StartRead(&self->request_);
    if (action.write == nullptr) return;
    self->StartWrite(action.write);
    // The write is not over until this thread says it is back, so `self` is still alive here.
    std::optional<Action> next = self->EndWritePart(/*returned=*/true, /*ok=*/true);
    if (!next) return;  // OnWriteDone has yet to run; it takes over from here
    action = *std::move(next);
  }
}

void BatchLookupReactor::OnAlarm() {
  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    alarm_armed_ = false;
    if (filling_.results().results_size() > 0) flush_due_ = true;
    action = NextLocked();
  }
  Act(this, action);
}

void BatchLookupReactor::OnWriteDone(bool ok) {
  if (std::optional<Action> next = EndWritePart(/*returned=*/false, ok)) Act(this, *next);
}

std::optional<BatchLookupReactor::Action> BatchLookupReactor::EndWritePart(bool returned,
                                                                           bool ok) {
  fetch::FetchEngine* const engine = state_->engine;
  Action action;
  bool cancel = false;
  fetch::GroupId group = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!(returned ? write_.Returned() : write_.Done(ok))) return std::nullopt;
    cancel = WriteOverLocked(write_.ok());
    group = group_;
    action = NextLocked();
  }
  // Only locals from here: with the write over, another thread may end the call.
  if (cancel) engine->CancelGroup(group, fetch::FetchOutcome::kCancelled);
  return action;
}

bool BatchLookupReactor::WriteOverLocked(bool ok) {
  writing_ = false;
  outstanding_ -= sending_rows_;
  sending_rows_ = 0;
  sending_.mutable_results()->mutable_results()->Clear();  // keeps the rows for reuse
  if (!ok && !write_failed_) {
    write_failed_ = true;
    input_done_ = true;
    DropUnsentLocked();
    return group_open_;
  }
  return false;
}

void BatchLookupReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (!group_open_) return;
  bool past_deadline = absl::Now() >= rpc_deadline_;
  state_->engine->CancelGroup(group_, past_deadline ? fetch::FetchOutcome::kTimeout
                                                    : fetch::FetchOutcome::kCancelled);
}

void BatchLookupReactor::Drain() {
  bool cancel = false;
  bool arm = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || draining_) return;
    draining_ = true;
    if (!input_done_) {
      input_done_ = true;
      input_cut_ = true;
    }
    if (!group_open_) {
      // Still waiting for the spec: nothing was fetched.
      FailLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "gatherd is shutting down; call another server"));
    }
    cancel = group_open_;
    // The alarm re-evaluates the call on a gRPC thread (this thread must not Finish).
    if (!alarm_armed_) {
      alarm_armed_ = true;
      arm = true;
    }
  }
  if (cancel) state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
  if (arm) {
    Action action;
    action.arm_alarm = true;
    Act(this, action);
  }
}

void BatchLookupReactor::FinishRpc(const grpc::Status& status) {
  absl::Duration wall = absl::Now() - start_;
  if (state_->metrics != nullptr) {
    state_->metrics->RpcDone(observe::Method::kBatchLookup, static_cast<int>(status.error_code()),
                             wall);
  }
  // Every job is done (or none started): the counts no longer change.
  observe::Log(status.ok() ? observe::LogLevel::kInfo : observe::LogLevel::kWarning, "rpc",
               {{"method", std::string("BatchLookup")},
                {"code", std::string(observe::GrpcCodeName(static_cast<int>(status.error_code())))},
                {"error", status.error_message()},
                {"caller", caller_.name},
                {"peer", context_->peer()},
                {"keys", static_cast<int64_t>(keys_)},
                {"statuses", observe::StatusCountsJson(status_counts_.data(),
                                                        static_cast<int>(status_counts_.size()))},
                {"bytes", static_cast<int64_t>(bytes_)},
                {"wall_ms", absl::ToDoubleMilliseconds(wall)}});
  Finish(status);
}

void BatchLookupReactor::OnDone() {
  if (admitted_) state_->Unregister(this);
  if (group_open_) state_->engine->CloseGroup(group_);
  if (admitted_) state_->Release();
  delete this;
}

}  // namespace gather::rpc
