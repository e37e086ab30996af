#include "service/rpc/fetch_and_rank_reactor.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_names.h"
#include "service/extract/score.h"
#include "service/rpc/call_auth.h"
#include "service/rpc/discovery.h"
#include "service/rpc/job_answer.h"
#include "service/rpc/status_convert.h"
#include "simdjson.h"

namespace gather::rpc {
namespace {

// One parser per thread that scores bodies (an engine loop thread); reused across bodies.
simdjson::ondemand::parser& ThreadParser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

StreamOptions RankStreamOptions(const v1::FetchAndRankRequest& request) {
  StreamOptions options;
  options.method = observe::Method::kFetchAndRank;
  options.method_name = "FetchAndRank";
  options.count_name = "jobs";
  options.single_row_messages = !request.batch_results();
  return options;
}

}  // namespace

FetchAndRankReactor::FetchAndRankReactor(ServiceState* state,
                                         grpc::CallbackServerContext* context,
                                         const v1::FetchAndRankRequest* request)
    : state_(state), context_(context), core_(this, state, context, RankStreamOptions(*request)) {
  auto caller = AuthenticateCall(state_->auth, *context_);
  if (!caller.ok()) {
    core_.FinishEarly(ToGrpcStatus(caller.status()));
    return;
  }
  if (!state_->TryAdmit()) {
    core_.FinishEarly(state_->AdmissionRefusal());
    return;
  }
  admitted_ = true;
  core_.set_caller(caller->name);
  auto credential =
      ResolveCredential(request->credential(), "credential", *caller,
                        state_->auth != nullptr ? state_->auth->profiles() : nullptr);
  if (!credential.ok()) {
    core_.FinishEarly(ToGrpcStatus(credential.status()));
    return;
  }
  auto plan = BuildRankPlan(*request, state_->limits, credential->get());
  if (!plan.ok()) {
    core_.FinishEarly(ToGrpcStatus(plan.status()));
    return;
  }
  plan_ = *std::move(plan);

  // Jobs end a margin before the RPC's deadline so their TIMEOUT rows still reach the caller.
  rpc_deadline_ = RpcDeadline(context_->deadline());
  fetch::GroupOptions options =
      GroupOptionsFor(plan_->policy, JobDeadline(rpc_deadline_, core_.start()));

  if (!plan_->discovery) {
    if (!state_->TryReserveJobs(plan_->jobs.size())) {
      core_.FinishEarly(
          grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "the server's job queue is full (--max_queued_jobs); retry later"));
      return;
    }
    reserved_jobs_ = plan_->jobs.size();
  }
  std::vector<std::pair<uint64_t, fetch::FetchRequest>> batch;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    if (plan_->discovery) {
      pending_ = 1;
    } else {
      jobs_ = std::move(plan_->jobs);
      pending_ = jobs_.size();
      batch.reserve(jobs_.size());
      for (uint64_t tag = 0; tag < jobs_.size(); ++tag) {
        batch.emplace_back(tag, FirstRequestLocked(tag));
      }
    }
  }
  group_ = state_->engine->OpenGroup(this, options);
  group_open_ = true;
  state_->Register(this);
  registered_ = true;
  // Submitted under the mutex, like every CancelGroup of this call (OnCancel, Drain): a cancel
  // either came first (and is repeated here for these jobs) or comes after them.
  std::lock_guard<std::mutex> lock(core_.mu());
  if (plan_->discovery) {
    fetch::FetchRequest index;
    index.url = plan_->index_url;
    index.headers = plan_->common_header_set;
    ApplyPolicy(plan_->policy, index);
    state_->engine->Submit(group_, kIndexTag, std::move(index));
  } else {
    state_->engine->SubmitBatch(group_, std::move(batch));
  }
  if (cancelled_ || draining_.load()) {
    state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
  }
}

fetch::FetchRequest FetchAndRankReactor::MakeRequest(const RankJob& job) const {
  fetch::FetchRequest request;
  request.url = job.url;
  request.headers = job.headers;
  request.method = plan_->method;
  request.body = plan_->body;
  ApplyPolicy(plan_->policy, request);
  return request;
}

fetch::FetchRequest FetchAndRankReactor::FirstRequestLocked(uint64_t tag) {
  fetch::FetchRequest request = MakeRequest(jobs_[tag]);
  if (plan_->paging) {
    if (pages_.size() < jobs_.size()) pages_.resize(jobs_.size());
    pages_[tag] = std::make_unique<KeyPages>(*plan_->paging, request);
  }
  return request;
}

void FetchAndRankReactor::OnFetchDone(uint64_t tag, fetch::FetchResult& result) {
  if (tag == kIndexTag) {
    HandleIndex(result);
  } else if (plan_->paging) {
    HandlePage(tag, result);
  } else {
    HandleJob(tag, result);
  }
}

void FetchAndRankReactor::HandleIndex(fetch::FetchResult& result) {
  std::string error;
  v1::JobStatus status = JobStatusOf(result, state_->follow_redirects, &error);
  std::vector<RankJob> jobs;
  std::optional<grpc::Status> failure;
  if (status == v1::JOB_STATUS_CANCELLED && draining_.load()) {
    failure = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           "gatherd is shutting down: cancelled during discovery; call another "
                           "server");
  } else if (status == v1::JOB_STATUS_CANCELLED) {
    failure = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled during discovery");
  } else if (status != v1::JOB_STATUS_OK) {
    // FAILED_PRECONDITION, not UNAVAILABLE: gatherd is fine, the index is not (a client must
    // not take it for an unreachable server and retry elsewhere).
    failure = grpc::Status(
        status == v1::JOB_STATUS_TIMEOUT ? grpc::StatusCode::DEADLINE_EXCEEDED
                                         : grpc::StatusCode::FAILED_PRECONDITION,
        absl::StrCat("discovery.index_url: fetching the index ", plan_->index_url, " failed: ",
                     common::JobStatusName(status), " (", error, ")"));
  } else if (auto keys = ParseIndexKeys(result.body, plan_->keys_pointer.text, plan_->max_keys);
             !keys.ok()) {
    failure = ToGrpcStatus(keys.status());
  } else {
    jobs = JobsFromKeys(*plan_, *std::move(keys));
  }

  if (!failure) {
    if (state_->TryReserveJobs(jobs.size())) {
      reserved_jobs_ = jobs.size();
    } else {
      failure = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             absl::StrCat("the server's job queue has no room for ", jobs.size(),
                                          " discovered jobs (--max_queued_jobs); retry later"));
    }
  }
  std::vector<std::pair<uint64_t, fetch::FetchRequest>> batch;
  std::optional<grpc::Status> finish;
  bool hold = false;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    if (failure) {
      core_.FailLocked(*std::move(failure));
    } else {
      jobs_ = std::move(jobs);
      for (uint64_t tag = 0; tag < jobs_.size(); ++tag) {
        const RankJob& job = jobs_[tag];
        if (std::string why = InvalidJobReason(job, state_->limits.max_url_length);
            !why.empty()) {
          if (state_->metrics != nullptr) {
            state_->metrics->JobDone(observe::Method::kFetchAndRank, v1::JOB_STATUS_INVALID_KEY,
                                     -absl::InfiniteDuration(), 0, 0);
          }
          if (v1::JobResult* row = core_.AddRowLocked(tag, v1::JOB_STATUS_INVALID_KEY)) {
            core_.AddRowBytesLocked(job.id.size() + why.size());
            row->set_id(job.id);
            row->set_error(std::move(why));
          }
          continue;
        }
        batch.emplace_back(tag, FirstRequestLocked(tag));
      }
      pending_ += batch.size();
    }
    // The index's own count is kept while this thread submits the batch (released below): once
    // submitted, the jobs could all complete and end the call before this thread is done.
    hold = !batch.empty();
    if (!hold) --pending_;
    // Under the mutex, like every CancelGroup of this call: a cancel or drain that came first
    // also reaches the jobs just submitted.
    if (hold) {
      state_->engine->SubmitBatch(group_, std::move(batch));
      if (cancelled_ || draining_.load()) {
        state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
      }
    }
    finish = core_.PumpLocked();
  }
  if (finish) {
    core_.FinishRpc(*finish);
    return;
  }
  if (hold) {
    {
      std::lock_guard<std::mutex> lock(core_.mu());
      --pending_;  // the index itself
      finish = core_.PumpLocked();
    }
    if (finish) core_.FinishRpc(*finish);
  }
}

void FetchAndRankReactor::HandleJob(uint64_t tag, fetch::FetchResult& result) {
  JobAnswer answer = ReadJobAnswer(*plan_, result, state_->follow_redirects, ThreadParser());
  const v1::JobStatus status = answer.status;
  std::string& error = answer.error;
  const std::optional<double>& score = answer.score;
  if (state_->metrics != nullptr) {
    state_->metrics->JobDone(observe::Method::kFetchAndRank, status,
                             result.shared ? -absl::InfiniteDuration() : result.latency,
                             result.attempts, result.body.size());
  }

  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    const RankJob& job = jobs_[tag];
    if (score) scored_.push_back(extract::Scored{job.id, job.url, *score});
    core_.AddBodyBytesLocked(result.body.size());
    core_.AddBudgetWaitLocked(result.budget_wait);
    --pending_;
    if (v1::JobResult* row = core_.AddRowLocked(tag, status)) {
      core_.AddRowBytesLocked(job.id.size() + job.url.size() + error.size());
      row->set_id(job.id);
      row->set_url(job.url);
      row->set_http_status(result.http_status);
      if (score) row->set_score(*score);
      row->set_error(std::move(error));
      row->set_latency_ms(absl::ToDoubleMilliseconds(result.latency));
      row->set_queue_ms(absl::ToDoubleMilliseconds(result.queue_wait));
      row->set_bytes(result.body.size());
      row->set_attempts(result.attempts);
      if (result.shared) row->set_shared(true);
      for (std::string& value : answer.values) {
        core_.AddRowBytesLocked(value.size());
        row->add_values(std::move(value));
      }
    }
    finish = core_.PumpLocked();
  }
  if (finish) core_.FinishRpc(*finish);
}

void FetchAndRankReactor::BuildSummaryLocked(v1::FetchAndRankResponse* message) {
  *message->mutable_summary() =
      BuildRankSummary(std::move(scored_), plan_->top_n, plan_->ascending, jobs_.size(),
                       core_.counts_locked(), absl::Now() - core_.start(),
                       core_.body_bytes_locked());
  message->mutable_summary()->set_jobs_waited(core_.jobs_waited_locked());
  message->mutable_summary()->set_retry_wait_ms(
      absl::ToDoubleMilliseconds(core_.budget_wait_locked()));
}

void FetchAndRankReactor::StreamBrokeLocked() {
  if (group_open_) state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
}

void FetchAndRankReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(core_.mu());
  cancelled_ = true;
  if (!group_open_) return;
  bool past_deadline = absl::Now() >= rpc_deadline_;
  state_->engine->CancelGroup(group_, past_deadline ? fetch::FetchOutcome::kTimeout
                                                    : fetch::FetchOutcome::kCancelled);
}

void FetchAndRankReactor::Drain() {
  std::lock_guard<std::mutex> lock(core_.mu());
  draining_.store(true);
  if (group_open_) state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
}

void FetchAndRankReactor::OnDone() {
  if (registered_) state_->Unregister(this);
  if (group_open_) state_->engine->CloseGroup(group_);
  if (reserved_jobs_ > 0) state_->ReleaseJobs(reserved_jobs_);
  if (admitted_) state_->Release();
  delete this;
}

}  // namespace gather::rpc
