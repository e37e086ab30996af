#include "service/rpc/batch_lookup_reactor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/extract/fields.h"
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

StreamOptions LookupStreamOptions() {
  StreamOptions options;
  options.method = observe::Method::kBatchLookup;
  options.method_name = "BatchLookup";
  options.count_name = "keys";
  options.batch_rows = BatchLookupReactor::kBatchRows;
  options.batch_bytes = BatchLookupReactor::kBatchBytes;
  options.flush_delay = BatchLookupReactor::kFlushDelay;
  return options;
}

}  // namespace

BatchLookupReactor::BatchLookupReactor(ServiceState* state, grpc::CallbackServerContext* context)
    : state_(state), context_(context), core_(this, state, context, LookupStreamOptions()) {
  if (auto caller = AuthenticateCall(state_->auth, *context_); !caller.ok()) {
    core_.FinishEarly(ToGrpcStatus(caller.status()));
    return;
  } else {
    caller_ = *std::move(caller);
  }
  core_.set_caller(caller_.name);
  if (!state_->TryAdmit()) {
    core_.FinishEarly(state_->AdmissionRefusal());
    return;
  }
  admitted_ = true;
  rpc_deadline_ = RpcDeadline(context_->deadline());
  {
    // Before Register: from there on Drain may run, and a drained call must wait for this read.
    std::lock_guard<std::mutex> lock(core_.mu());
    reading_ = true;
  }
  state_->Register(this);
  StartRead(&request_);
}

void BatchLookupReactor::OnReadDone(bool ok) {
  bool handle = false;
  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    if (!ok) {
      // Half-close (or the call broke): the input is complete.
      reading_ = false;
      input_done_ = true;
      if (!plan_ && !core_.stopping_locked()) {
        FailLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "spec: the stream ended before a LookupSpec was sent"));
      }
      finish = core_.PumpLocked();
    } else if (core_.stopping_locked() || draining_) {
      // The RPC is ending; the message is dropped unread.
      EndReadLocked();
      finish = core_.PumpLocked();
    } else {
      handle = true;  // the read keeps the call alive until its handler ends it
    }
  }
  if (finish) core_.FinishRpc(*finish);
  if (!handle) return;
  if (!plan_) {
    HandleSpec();
  } else {
    HandleKeys();
  }
}

void BatchLookupReactor::EndReadLocked() {
  request_.Clear();
  reading_ = false;
}

void BatchLookupReactor::FailRead(grpc::Status status) {
  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    EndReadLocked();
    FailLocked(std::move(status));
    if (group_open_) state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
    finish = core_.PumpLocked();
  }
  if (finish) core_.FinishRpc(*finish);
}

void BatchLookupReactor::HandleSpec() {
  if (request_.kind_case() != v1::BatchLookupRequest::kSpec) {
    FailRead(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "spec: the first message must carry a LookupSpec"));
    return;
  }
  auto credential =
      ResolveCredential(request_.spec().credential(), "spec.credential", caller_,
                        state_->auth != nullptr ? state_->auth->profiles() : nullptr);
  if (!credential.ok()) {
    FailRead(ToGrpcStatus(credential.status()));
    return;
  }
  auto plan = BuildLookupPlan(request_.spec(), state_->limits, credential->get());
  if (!plan.ok()) {
    FailRead(ToGrpcStatus(plan.status()));
    return;
  }
  plan_ = *std::move(plan);
  fetch::GroupOptions options =
      GroupOptionsFor(plan_->policy, JobDeadline(rpc_deadline_, core_.start()));
  fetch::GroupId group = state_->engine->OpenGroup(this, options);
  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    group_ = group;
    group_open_ = true;
    // No job yet; a cancel that came first ends the jobs the first keys will start (HandleKeys).
    // Enough keys to keep every transfer busy and the next result batch full, plus one key
    // message of headroom (a message is taken whole).
    window_ = std::max<uint64_t>(4 * static_cast<uint64_t>(plan_->policy.concurrency), 2048);
    // The spec is accepted: say so now (the response headers) rather than with the first rows, so
    // a client can tell an accepted call from a refused one before it sends its keys.
    StartSendInitialMetadata();
    EndReadLocked();
    finish = core_.PumpLocked();
  }
  if (finish) core_.FinishRpc(*finish);
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
    FailRead(ToGrpcStatus(invalid));
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

  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
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
      if (plan_->paging) slots_[slot].pages = std::make_unique<KeyPages>(*plan_->paging, request);
      index = slot;  // the job's tag from here on
    }
    pending_ += batch.size();
    for (auto& [index, why] : invalid_keys) {
      v1::Key& key = (*keys)[index];
      if (state_->metrics != nullptr) {
        state_->metrics->JobDone(observe::Method::kBatchLookup, v1::JOB_STATUS_INVALID_KEY,
                                 -absl::InfiniteDuration(), 0, 0);
      }
      if (v1::LookupResult* row = core_.AddRowLocked(key.seq(), v1::JOB_STATUS_INVALID_KEY)) {
        core_.AddRowBytesLocked(key.key().size() + why.size());
        row->set_key(std::move(*key.mutable_key()));
        row->set_error(std::move(why));
      }
    }
    // Submitted under the mutex, like every CancelGroup of this call: a cancel either came first
    // (and is repeated here for these jobs) or comes after them. Completions wait for the mutex.
    if (!batch.empty()) {
      state_->engine->SubmitBatch(group_, std::move(batch));
      if (cancelled_ || draining_ || core_.stopping_locked()) {
        state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
      }
    }
    // Done with the read buffer before any thread may start the next read into it.
    EndReadLocked();
    finish = core_.PumpLocked();
  }
  if (finish) core_.FinishRpc(*finish);
}

void BatchLookupReactor::OnFetchDone(uint64_t tag, fetch::FetchResult& result) {
  if (plan_->paging) {
    OnPageDone(tag, result);
    return;
  }
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

  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    Slot& slot = slots_[tag];
    --pending_;
    core_.AddBodyBytesLocked(result.body.size());
    core_.AddBudgetWaitLocked(result.budget_wait);
    if (v1::LookupResult* row = core_.AddRowLocked(slot.seq, status)) {
      size_t row_bytes = slot.key.size() + error.size() + result.body.size() / 4;
      row->set_key(std::move(slot.key));
      row->set_http_status(result.http_status);
      if (status == v1::JOB_STATUS_OK && extracted != nullptr) {
        for (const std::string& value : extracted->values) {
          row->add_values(value);
          row_bytes += value.size();
        }
      }
      row->set_error(std::move(error));
      row->set_attempts(result.attempts);
      row->set_latency_ms(absl::ToDoubleMilliseconds(result.latency));
      row->set_queue_ms(absl::ToDoubleMilliseconds(result.queue_wait));
      row->set_bytes(result.body.size());
      if (result.shared) row->set_shared(true);
      core_.AddRowBytesLocked(row_bytes);
    }
    FreeSlotLocked(static_cast<uint32_t>(tag));
    finish = core_.PumpLocked();
  }
  if (finish) core_.FinishRpc(*finish);
}

void BatchLookupReactor::PumpInputLocked() {
  if (reading_ || input_done_ || !group_open_ || core_.stopping_locked()) return;
  if (pending_ + core_.held_rows_locked() + slot_rows_ >= window_) return;
  reading_ = true;
  StartRead(&request_);  // under the mutex: gRPC never runs OnReadDone inline
}

void BatchLookupReactor::BuildSummaryLocked(v1::BatchLookupResponse* message) {
  v1::LookupSummary* summary = message->mutable_summary();
  *summary = BuildLookupSummary(keys_, core_.counts_locked(), absl::Now() - core_.start(),
                                core_.body_bytes_locked(), state_->engine->HostRate(plan_->host));
  summary->set_keys_waited(core_.jobs_waited_locked());
  if (int64_t left = state_->engine->QuotaLeft(plan_->host); left >= 0) {
    summary->set_quota_left(left);
  }
  summary->set_retry_wait_ms(absl::ToDoubleMilliseconds(core_.budget_wait_locked()));
  if (plan_->paging) {
    summary->set_pages(pages_);
    summary->set_rows(rows_);
    summary->set_items_filtered(items_filtered_);
    summary->set_keys_cut(keys_cut_);
  }
}

grpc::Status BatchLookupReactor::EndStatusLocked() {
  if (!input_cut_) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "gatherd is shutting down: the keys after the last row were not read; "
                      "resume them on another server");
}

void BatchLookupReactor::FailLocked(grpc::Status status) {
  core_.FailLocked(std::move(status));
  input_done_ = true;
}

void BatchLookupReactor::StreamBrokeLocked() {
  input_done_ = true;
  if (group_open_) state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
}

void BatchLookupReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(core_.mu());
  cancelled_ = true;
  if (!group_open_) return;
  bool past_deadline = absl::Now() >= rpc_deadline_;
  state_->engine->CancelGroup(group_, past_deadline ? fetch::FetchOutcome::kTimeout
                                                    : fetch::FetchOutcome::kCancelled);
}

void BatchLookupReactor::Drain() {
  std::lock_guard<std::mutex> lock(core_.mu());
  if (core_.finished_locked() || draining_) return;
  draining_ = true;
  if (!input_done_) {
    input_done_ = true;
    input_cut_ = true;
  }
  if (!group_open_) {
    // Still waiting for the spec: nothing was fetched.
    FailLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "gatherd is shutting down; call another server"));
  } else {
    state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
  }
  // The alarm re-evaluates the call on a gRPC thread (this thread must not Finish).
  core_.FlushSoonLocked();
}

void BatchLookupReactor::OnDone() {
  if (admitted_) state_->Unregister(this);
  if (group_open_) state_->engine->CloseGroup(group_);
  if (admitted_) state_->Release();
  delete this;
}

}  // namespace gather::rpc
