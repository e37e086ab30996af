#include "service/rpc/fetch_and_rank_reactor.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status_names.h"
#include "service/extract/score.h"
#include "service/rpc/job_answer.h"
#include "service/observe/log.h"
#include "service/rpc/call_auth.h"
#include "service/rpc/status_convert.h"
#include "simdjson.h"

namespace gather::rpc {
namespace {

// One parser per thread that scores bodies (an engine loop thread); reused across bodies.
simdjson::ondemand::parser& ThreadParser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

}  // namespace

FetchAndRankReactor::FetchAndRankReactor(ServiceState* state,
                                         grpc::CallbackServerContext* context,
                                         const v1::FetchAndRankRequest* request)
    : state_(state), context_(context), start_(absl::Now()) {
  auto caller = AuthenticateCall(state_->auth, *context_);
  if (!caller.ok()) {
    FinishRpc(ToGrpcStatus(caller.status()));
    return;
  }
  if (!state_->TryAdmit()) {
    FinishRpc(state_->AdmissionRefusal());
    return;
  }
  admitted_ = true;
  caller_name_ = caller->name;
  auto credential =
      ResolveCredential(request->credential(), "credential", *caller,
                        state_->auth != nullptr ? state_->auth->profiles() : nullptr);
  if (!credential.ok()) {
    FinishRpc(ToGrpcStatus(credential.status()));
    return;
  }
  auto plan = BuildRankPlan(*request, state_->limits, credential->get());
  if (!plan.ok()) {
    FinishRpc(ToGrpcStatus(plan.status()));
    return;
  }
  plan_ = *std::move(plan);

  // Jobs end a margin before the RPC's deadline so their TIMEOUT rows still reach the caller.
  rpc_deadline_ = RpcDeadline(context_->deadline());
  fetch::GroupOptions options = GroupOptionsFor(plan_->policy, JobDeadline(rpc_deadline_, start_));

  if (!plan_->discovery) {
    if (!state_->TryReserveJobs(plan_->jobs.size())) {
      FinishRpc(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "the server's job queue is full (--max_queued_jobs); retry later"));
      return;
    }
    reserved_jobs_ = plan_->jobs.size();
  }
  std::vector<std::pair<uint64_t, fetch::FetchRequest>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (plan_->discovery) {
      pending_ = 1;
    } else {
      jobs_ = std::move(plan_->jobs);
      pending_ = jobs_.size();
      batch.reserve(jobs_.size());
      for (uint64_t tag = 0; tag < jobs_.size(); ++tag) {
        batch.emplace_back(tag, MakeRequest(jobs_[tag]));
      }
    }
  }
  group_ = state_->engine->OpenGroup(this, options);
  group_open_ = true;
  state_->Register(this);
  registered_ = true;
  // Submitted under mu_, like every CancelGroup of this call (OnCancel, Drain): a cancel either
  // came first (and is repeated here for these jobs) or comes after them.
  std::lock_guard<std::mutex> lock(mu_);
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

void FetchAndRankReactor::OnFetchDone(uint64_t tag, fetch::FetchResult& result) {
  if (tag == kIndexTag) {
    HandleIndex(result);
  } else {
    HandleJob(tag, result);
  }
}

void FetchAndRankReactor::HandleIndex(fetch::FetchResult& result) {
  std::string error;
  v1::JobStatus status = JobStatusOf(result, state_->follow_redirects, &error);
  std::vector<RankJob> jobs;
  std::vector<v1::FetchAndRankResponse> invalid;
  std::optional<grpc::Status> failure;
  if (status == v1::JOB_STATUS_CANCELLED && draining_.load()) {
    failure = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                           "gatherd is shutting down: cancelled during discovery; call another "
                           "server");
  } else if (status == v1::JOB_STATUS_CANCELLED) {
    failure = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled during discovery");
  } else if (status != v1::JOB_STATUS_OK) {
    failure = grpc::Status(
        status == v1::JOB_STATUS_TIMEOUT ? grpc::StatusCode::DEADLINE_EXCEEDED
                                         : grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("discovery.index_url: fetching the index failed: ", common::JobStatusName(status),
                     " (", error, ")"));
  } else {
    simdjson::ondemand::document doc;
    simdjson::ondemand::value keys;
    auto& parser = ThreadParser();
    auto fail = [&](absl::string_view why) {
      failure = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             absl::StrCat("discovery.keys_pointer: ", why));
    };
    if (parser.iterate(extract::PadForParse(result.body)).get(doc)) {
      fail("the index is not JSON");
    } else if (auto e = doc.at_pointer(plan_->keys_pointer.text).get(keys); e) {
      fail(absl::StrCat("no keys at \"", plan_->keys_pointer.text, "\" in the index (",
                        simdjson::error_message(e), ")"));
    } else {
      auto add_key = [&](std::string_view key_view) {
        absl::string_view key(key_view.data(), key_view.size());
        if (jobs.size() >= plan_->max_keys) return;
        RankJob job;
        job.id = std::string(key);
        job.url = plan_->url_template->Expand(key);
        job.headers = plan_->common_header_set;
        jobs.push_back(std::move(job));
      };
      simdjson::ondemand::json_type type;
      if (keys.type().get(type)) {
        fail("the index is not JSON");
      } else if (type == simdjson::ondemand::json_type::object) {
        simdjson::ondemand::object object;
        if (keys.get_object().get(object)) fail("the index is not JSON");
        for (auto field : object) {
          std::string_view key;
          if (field.unescaped_key().get(key)) {
            fail("the index is not JSON");
            break;
          }
          add_key(key);
        }
      } else if (type == simdjson::ondemand::json_type::array) {
        simdjson::ondemand::array array;
        if (keys.get_array().get(array)) fail("the index is not JSON");
        for (auto element : array) {
          simdjson::ondemand::value value;
          simdjson::ondemand::json_type element_type;
          if (element.get(value) || value.type().get(element_type)) {
            fail("the index is not JSON");
            break;
          }
          if (element_type == simdjson::ondemand::json_type::string) {
            std::string_view key;
            if (value.get_string().get(key)) {
              fail("the index is not JSON");
              break;
            }
            add_key(key);
          } else if (element_type == simdjson::ondemand::json_type::number) {
            std::string_view raw = value.raw_json_token();
            while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' ||
                                    raw.back() == '\r' || raw.back() == '\t')) {
              raw.remove_suffix(1);
            }
            add_key(raw);
          } else {
            fail("an element of the keys array is not a string or a number");
            break;
          }
        }
      } else {
        fail(absl::StrCat("\"", plan_->keys_pointer.text,
                          "\" is neither an object nor an array in the index"));
      }
    }
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
  Action action;
  bool hold = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure) {
      failure_ = failure;
    } else {
      jobs_ = std::move(jobs);
      for (uint64_t tag = 0; tag < jobs_.size(); ++tag) {
        const RankJob& job = jobs_[tag];
        if (job.id.empty() || job.url.size() > state_->limits.max_url_length) {
          v1::FetchAndRankResponse message;
          v1::JobResult* row = message.mutable_result();
          row->set_id(job.id);
          row->set_seq(tag);
          row->set_status(v1::JOB_STATUS_INVALID_KEY);
          row->set_error(job.id.empty() ? "empty key"
                                        : absl::StrCat("URL longer than ",
                                                       state_->limits.max_url_length, " bytes"));
          ++status_counts_[v1::JOB_STATUS_INVALID_KEY];
          if (state_->metrics != nullptr) {
            state_->metrics->JobDone(observe::Method::kFetchAndRank, v1::JOB_STATUS_INVALID_KEY,
                                     -absl::InfiniteDuration(), 0, 0);
          }
          invalid.push_back(std::move(message));
          continue;
        }
        batch.emplace_back(tag, MakeRequest(job));
      }
      pending_ += batch.size();
    }
    // The index's own count is kept while this thread submits the batch (released below): once
    // submitted, the jobs could all complete and end the call before this thread is done.
    hold = !batch.empty();
    if (!hold) --pending_;
    for (auto& message : invalid) {
      Action queued = EnqueueLocked(std::move(message));
      if (queued.write) action.write = queued.write;
    }
    Action next = NextLocked();
    if (next.write) action.write = next.write;
    action.finish = next.finish;
    // Under mu_, like every CancelGroup of this call: a cancel or drain that came first also
    // reaches the jobs just submitted.
    if (hold) {
      state_->engine->SubmitBatch(group_, std::move(batch));
      if (cancelled_ || draining_.load()) {
        state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
      }
    }
  }
  Act(this, action);
  if (hold) {
    Action release;
    {
      std::lock_guard<std::mutex> lock(mu_);
      --pending_;  // the index itself
      release = NextLocked();
    }
    Act(this, release);
  }
}

void FetchAndRankReactor::HandleJob(uint64_t tag, fetch::FetchResult& result) {
  v1::FetchAndRankResponse message;
  v1::JobResult* row = message.mutable_result();
  JobAnswer answer = ReadJobAnswer(*plan_, result, state_->follow_redirects, ThreadParser());
  const v1::JobStatus status = answer.status;
  std::string& error = answer.error;
  const std::optional<double>& score = answer.score;
  for (std::string& value : answer.values) row->add_values(std::move(value));
  if (state_->metrics != nullptr) {
    state_->metrics->JobDone(observe::Method::kFetchAndRank, status,
                             result.shared ? -absl::InfiniteDuration() : result.latency,
                             result.attempts, result.body.size());
  }
  row->set_seq(tag);
  row->set_status(status);
  row->set_http_status(result.http_status);
  if (score) row->set_score(*score);
  row->set_error(error);
  row->set_latency_ms(absl::ToDoubleMilliseconds(result.latency));
  row->set_queue_ms(absl::ToDoubleMilliseconds(result.queue_wait));
  row->set_bytes(result.body.size());
  row->set_attempts(result.attempts);
  if (result.shared) row->set_shared(true);

  Action action;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const RankJob& job = jobs_[tag];
    row->set_id(job.id);
    row->set_url(job.url);
    if (score) scored_.push_back(extract::Scored{job.id, job.url, *score});
    ++status_counts_[status];
    bytes_ += result.body.size();
    --pending_;
    Action queued = EnqueueLocked(std::move(message));
    Action next = NextLocked();
    action.write = queued.write ? queued.write : next.write;
    action.finish = next.finish;
  }
  Act(this, action);
}

FetchAndRankReactor::Action FetchAndRankReactor::EnqueueLocked(v1::FetchAndRankResponse message) {
  Action action;
  if (write_failed_) return action;  // the caller is gone; drop the row
  outbound_.push_back(std::move(message));
  if (!writing_) {
    writing_ = true;
    write_.Begin();
    action.write = &outbound_.front();
  }
  return action;
}

FetchAndRankReactor::Action FetchAndRankReactor::NextLocked() {
  Action action;
  if (pending_ > 0 || finished_) return action;
  if (failure_ || write_failed_) {
    if (!writing_) {
      finished_ = true;
      action.finish = failure_ ? *failure_
                               : grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke");
    }
    return action;
  }
  if (!summary_queued_) {
    summary_queued_ = true;
    v1::FetchAndRankResponse message;
    v1::RankSummary* summary = message.mutable_summary();
    std::vector<extract::Scored> top =
        extract::TopN(std::move(scored_), plan_->top_n, plan_->ascending);
    uint32_t rank = 0;
    for (extract::Scored& entry : top) {
      v1::RankedJob* ranked = summary->add_ranking();
      ranked->set_rank(++rank);
      ranked->set_id(std::move(entry.id));
      ranked->set_url(std::move(entry.url));
      ranked->set_score(entry.score);
    }
    summary->set_jobs(jobs_.size());
    for (const auto& [status, count] : status_counts_) {
      v1::StatusCount* item = summary->add_status_counts();
      item->set_status(static_cast<v1::JobStatus>(status));
      item->set_count(count);
    }
    summary->set_wall_ms(absl::ToDoubleMilliseconds(absl::Now() - start_));
    summary->set_bytes(bytes_);
    return EnqueueLocked(std::move(message));
  }
  if (outbound_.empty() && !writing_) {
    finished_ = true;
    action.finish = grpc::Status::OK;
  }
  return action;
}

void FetchAndRankReactor::Act(FetchAndRankReactor* self, Action action) {
  while (action.write != nullptr) {
    self->StartWrite(action.write);
    // The write is not over until this thread says it is back, so `self` is still alive here.
    std::optional<Action> next = self->EndWritePart(/*returned=*/true, /*ok=*/true);
    if (!next) return;  // OnWriteDone has yet to run; it takes over from here
    action = *std::move(next);
  }
  // Nothing may touch `self` after Finish: OnDone may delete it on another thread.
  if (action.finish) self->FinishRpc(*action.finish);
}

void FetchAndRankReactor::OnWriteDone(bool ok) {
  if (std::optional<Action> next = EndWritePart(/*returned=*/false, ok)) Act(this, *next);
}

std::optional<FetchAndRankReactor::Action> FetchAndRankReactor::EndWritePart(bool returned,
                                                                             bool ok) {
  fetch::FetchEngine* const engine = state_->engine;
  Action action;
  bool cancel = false;
  fetch::GroupId group = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!(returned ? write_.Returned() : write_.Done(ok))) return std::nullopt;
    action = WriteOverLocked(write_.ok(), &cancel);
    group = group_;
  }
  // Only locals from here: with the write over, another thread may end the call.
  if (cancel) engine->CancelGroup(group, fetch::FetchOutcome::kCancelled);
  return action;
}

FetchAndRankReactor::Action FetchAndRankReactor::WriteOverLocked(bool ok, bool* cancel) {
  Action action;
  outbound_.pop_front();
  writing_ = false;
  *cancel = !ok;
  if (!ok) {
    write_failed_ = true;
    outbound_.clear();
  } else if (!outbound_.empty()) {
    writing_ = true;
    write_.Begin();
    action.write = &outbound_.front();
  }
  if (!action.write) action = NextLocked();
  return action;
}

void FetchAndRankReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (!group_open_) return;
  bool past_deadline = absl::Now() >= rpc_deadline_;
  state_->engine->CancelGroup(group_, past_deadline ? fetch::FetchOutcome::kTimeout
                                                    : fetch::FetchOutcome::kCancelled);
}

void FetchAndRankReactor::Drain() {
  std::lock_guard<std::mutex> lock(mu_);
  draining_.store(true);
  if (group_open_) state_->engine->CancelGroup(group_, fetch::FetchOutcome::kCancelled);
}

void FetchAndRankReactor::FinishRpc(const grpc::Status& status) {
  absl::Duration wall = absl::Now() - start_;
  if (state_->metrics != nullptr) {
    state_->metrics->RpcDone(observe::Method::kFetchAndRank, static_cast<int>(status.error_code()),
                             wall);
  }
  std::array<uint64_t, v1::JobStatus_ARRAYSIZE> counts{};
  uint64_t jobs = 0;
  for (const auto& [job_status, count] : status_counts_) {
    if (job_status >= 0 && job_status < v1::JobStatus_ARRAYSIZE) counts[job_status] = count;
    jobs += count;
  }
  observe::Log(status.ok() ? observe::LogLevel::kInfo : observe::LogLevel::kWarning, "rpc",
               {{"method", std::string("FetchAndRank")},
                {"code", std::string(observe::GrpcCodeName(static_cast<int>(status.error_code())))},
                {"error", status.error_message()},
                {"caller", caller_name_},
                {"peer", context_->peer()},
                {"jobs", static_cast<int64_t>(jobs)},
                {"statuses", observe::StatusCountsJson(counts.data(), static_cast<int>(counts.size()))},
                {"wall_ms", absl::ToDoubleMilliseconds(wall)}});
  Finish(status);
}

void FetchAndRankReactor::OnDone() {
  if (registered_) state_->Unregister(this);
  if (group_open_) state_->engine->CloseGroup(group_);
  if (reserved_jobs_ > 0) state_->ReleaseJobs(reserved_jobs_);
  if (admitted_) state_->Release();
  delete this;
}

}  // namespace gather::rpc
