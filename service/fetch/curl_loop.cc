#include "service/fetch/curl_loop.h"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/url.h"
#include "service/fetch/curl_outcome.h"
#include "service/fetch/redirect.h"

namespace gather::fetch {
namespace {

// Spare bytes kept past the end of every body so JSON parsers can read ahead without a copy
// (simdjson needs 64).
constexpr size_t kBodyPadding = 64;
constexpr size_t kInitialBodyCapacity = 2048;
constexpr int kMaxPollMs = 1000;
constexpr long kMaxHeaderBytes = 64 * 1024;
constexpr int kMaxHeaderLines = 500;  // per response
constexpr char kUserAgent[] = "gather/0.1";

// Whether a job's transfers are hedged: the group asks for it and the request may be repeated.
bool Hedges(const GroupOptions& options, const FetchRequest& request) {
  return (options.hedge_auto || options.hedge_after.has_value()) && IsIdempotent(request);
}

}  // namespace

void CommandCount::Add(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  count_ += n;
}

void CommandCount::Done(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  count_ -= n;
  if (count_ == 0) zero_.notify_all();
}

void CommandCount::WaitZero() {
  std::unique_lock<std::mutex> lock(mu_);
  zero_.wait(lock, [this] { return count_ == 0; });
}

CurlLoop::CurlLoop(LoopOptions options, MultiHandle multi, EngineStats* stats,
                   CommandCount* pending)
    : options_(std::move(options)),
      multi_(std::move(multi)),
      stats_(stats),
      pending_(pending),
      scheduler_(WithLeaseReplies(options_.scheduler, lease_target_), stats),
      coalescer_(options_.coalescer) {
  lease_target_->loop = this;
  curl_slist* resolve = nullptr;
  for (const std::string& entry : options_.resolve) {
    resolve = curl_slist_append(resolve, entry.c_str());
  }
  resolve_.reset(resolve);
}

CurlLoop::~CurlLoop() {
  {
    std::lock_guard<std::mutex> lock(lease_target_->mu);
    lease_target_->loop = nullptr;
  }
  // Handles leave the multi handle before either is cleaned up.
  for (auto& [job, running] : running_) {
    for (auto& transfer : running->transfers) {
      if (transfer->easy) curl_multi_remove_handle(multi_.get(), transfer->easy.get());
    }
  }
}

void CurlLoop::Post(std::vector<Command> commands) {
  pending_->Add(static_cast<int64_t>(commands.size()));
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    for (Command& command : commands) inbox_.push_back(std::move(command));
  }
  curl_multi_wakeup(multi_.get());
}

void CurlLoop::Run() {
  while (true) {
    ProcessInbox();
    if (exit_) return;
    absl::Time now = absl::Now();
    scheduler_.PromoteDueRetries(now);
    for (Job* job : hedger_.TakeDue(now)) scheduler_.WantHedge(*job);
    ExpireWaiting(now);
    scheduler_.Tick(now);
    StartAdmitted(now);
    int running = 0;
    curl_multi_perform(multi_.get(), &running);
    DrainCompletions();
    if (StartAdmitted(absl::Now())) continue;  // new transfers: let perform start them at once
    curl_multi_poll(multi_.get(), nullptr, 0, NextPollMs(absl::Now()), nullptr);
  }
}

void CurlLoop::ProcessInbox() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    processing_.swap(inbox_);
  }
  if (processing_.empty()) return;
  for (Command& command : processing_) {
    switch (command.kind) {
      case Command::Kind::kOpen:
        scheduler_.OpenGroup(command.group, command.sink, command.options);
        break;
      case Command::Kind::kSubmit:
        Submit(command, command.submitted);
        break;
      case Command::Kind::kCancel:
        if (GroupState* group = scheduler_.FindGroup(command.group)) {
          CancelGroupJobs(*group, command.outcome,
                          command.outcome == FetchOutcome::kTimeout
                              ? "the RPC deadline was reached"
                              : "the call was cancelled");
        }
        break;
      case Command::Kind::kClose:
        CloseGroup(command.group);
        break;
      case Command::Kind::kStop:
        StopAll();
        break;
      case Command::Kind::kExit:
        exit_ = true;
        break;
      case Command::Kind::kLease:
        scheduler_.OnLease(command.request.host, command.lease, absl::Now());
        break;
    }
  }
  PublishGauges();
  int64_t done = static_cast<int64_t>(processing_.size());
  processing_.clear();
  // Last: completions delivered above may have posted more commands, counted before this.
  pending_->Done(done);
}

void CurlLoop::Submit(Command& command, absl::Time now) {
  GroupState* group = scheduler_.FindGroup(command.group);
  if (group == nullptr) return;  // a submit after CloseGroup breaks the contract: dropped
  auto job = std::make_unique<Job>();
  job->tag = command.tag;
  job->request = std::move(command.request);
  job->waiting_since = now;
  if (job->request.host.empty()) job->request.host = common::HostOf(job->request.url);
  scheduler_.Attach(*job, *group, now);
  if (stopping_) {
    FetchResult result = EndedWaiting(*job, FetchOutcome::kCancelled,
                                      "cancelled while queued: the server is shutting down", now);
    Complete(std::move(job), result);
    return;
  }
  if (job->request.coalesce && IsIdempotent(job->request)) {
    Coalescer::Joined joined = coalescer_.Join(std::move(job), now);
    if (joined.answered) {
      FetchResult& result = joined.answer;
      result.shared = true;
      result.attempts = 0;
      result.queue_wait = now - joined.answered->waiting_since;
      stats_->coalesced.fetch_add(1, std::memory_order_relaxed);
      Deliver(std::move(joined.answered), result);
      return;
    }
    if (!joined.lead) return;  // follows an identical request in progress
    job = std::move(joined.lead);
  }
  scheduler_.Enqueue(std::move(job));
}

void CurlLoop::CancelGroupJobs(GroupState& group, FetchOutcome outcome, absl::string_view why) {
  absl::Time now = absl::Now();
  // Waiting jobs first (followers before the jobs they follow), then transfers in flight.
  std::vector<std::unique_ptr<Job>> waiting = coalescer_.TakeFollowers(&group);
  for (auto& job : scheduler_.TakeWaiting(group)) waiting.push_back(std::move(job));
  PublishGauges();
  std::string reason = absl::StrCat(
      outcome == FetchOutcome::kTimeout ? "timed out" : "cancelled", " while queued: ", why);
  for (auto& job : waiting) {
    FetchResult result = EndedWaiting(*job, outcome, reason, now);
    Complete(std::move(job), result);
  }
  std::vector<const Job*> mine;
  for (const auto& [job, running] : running_) {
    if (job->group == &group) mine.push_back(job);
  }
  for (const Job* key : mine) {
    auto it = running_.find(key);
    std::unique_ptr<Running> running = std::move(it->second);
    running_.erase(it);
    Job& job = *running->job;
    long code = 0;
    curl_easy_getinfo(running->transfers.front()->easy.get(), CURLINFO_RESPONSE_CODE, &code);
    while (!running->transfers.empty()) EndTransfer(*running, running->transfers.back().get());
    hedger_.Disarm(&job);
    scheduler_.ForgetHedge(job);
    FetchResult result;
    result.outcome = outcome;
    result.error = std::string(why);
    result.queue_wait = job.waited;
    result.latency = now - running->started;
    result.attempts = job.attempts;
    result.http_status = static_cast<int>(code);
    Complete(std::move(running->job), result);
  }
}

void CurlLoop::CloseGroup(GroupId id) {
  GroupState* group = scheduler_.FindGroup(id);
  if (group == nullptr) return;
  // A well-behaved caller closes only drained groups; anything left is cancelled, not orphaned.
  CancelGroupJobs(*group, FetchOutcome::kCancelled, "the group was closed");
  for (const std::string& host : scheduler_.CloseGroup(*group, absl::Now())) {
    hedger_.ForgetHost(host);
  }
}

void CurlLoop::StopAll() {
  stopping_ = true;
  std::vector<GroupState*> groups;
  scheduler_.ForEachGroup([&](GroupState& group) { groups.push_back(&group); });
  for (GroupState* group : groups) {
    CancelGroupJobs(*group, FetchOutcome::kCancelled, "the server is shutting down");
  }
}

bool CurlLoop::StartAdmitted(absl::Time now) {
  if (stopping_) return false;
  bool any = false;
  while (true) {
    Scheduler::Admission admission = scheduler_.Next(now);
    if (admission.job) {
      StartJob(std::move(admission.job), now);
    } else if (admission.hedge_of != nullptr) {
      StartHedge(admission.hedge_of, now);
    } else if (admission.refused) {
      Complete(std::move(admission.refused), admission.refusal);
    } else {
      break;
    }
    any = true;
  }
  PublishGauges();
  return any;
}

void CurlLoop::StartJob(std::unique_ptr<Job> job, absl::Time now) {
  job->waited += now - job->waiting_since;
  const GroupOptions& options = job->group->options;
  absl::Duration left = options.deadline - now;
  if (left <= absl::ZeroDuration()) {
    scheduler_.EndTransfer(*job);
    job->waiting_since = now;
    FetchResult result = EndedWaiting(
        *job, FetchOutcome::kTimeout,
        "the RPC deadline was reached before the transfer started", now);
    Complete(std::move(job), result);
    return;
  }
  auto running = std::make_unique<Running>();
  running->started = now;
  auto transfer = std::make_unique<Transfer>();
  transfer->loop = this;
  transfer->running = running.get();
  transfer->url = job->request.url;
  transfer->headers = job->request.headers;
  transfer->started = now;
  transfer->ends = now + std::min(job->request.timeout, left);
  transfer->deadline_bound = left < job->request.timeout;
  running->job = std::move(job);
  Job* raw = running->job.get();
  if (!Launch(*transfer, now)) {
    scheduler_.EndTransfer(*raw);
    FetchResult result;
    result.outcome = FetchOutcome::kError;
    result.error = "cannot start the transfer (libcurl)";
    result.queue_wait = raw->waited;
    result.attempts = raw->attempts;
    if (transfer->easy) ReleaseEasy(std::move(transfer->easy));
    Complete(std::move(running->job), result);
    return;
  }
  if (raw->attempts == 0 && Hedges(options, raw->request)) {
    hedger_.OnFirstAttempt(raw->request.host, now);
  }
  ++raw->attempts;
  stats_->started.fetch_add(1, std::memory_order_relaxed);
  running->transfers.push_back(std::move(transfer));
  if (Hedges(options, raw->request)) hedger_.Arm(raw, options, now);
  running_[raw] = std::move(running);
}

void CurlLoop::StartHedge(Job* job, absl::Time now) {
  auto it = running_.find(job);
  if (it == running_.end() || it->second->transfers.size() != 1) {
    scheduler_.EndTransfer(*job);  // its slot was taken for nothing
    return;
  }
  Running& running = *it->second;
  const Transfer& primary = *running.transfers.front();
  auto hedge = std::make_unique<Transfer>();
  hedge->loop = this;
  hedge->running = &running;
  hedge->url = job->request.url;
  hedge->headers = job->request.headers;
  hedge->started = now;
  hedge->ends = primary.ends;  // the job's time is the primary's: both end by then
  hedge->deadline_bound = primary.deadline_bound;
  if (hedge->ends <= now || !Launch(*hedge, now)) {
    scheduler_.EndTransfer(*job);
    if (hedge->easy) ReleaseEasy(std::move(hedge->easy));
    return;
  }
  ++job->attempts;  // made, whether it wins or not
  stats_->hedges.fetch_add(1, std::memory_order_relaxed);
  running.transfers.push_back(std::move(hedge));
}

bool CurlLoop::Launch(Transfer& transfer, absl::Time now) {
  // Only what differs between transfers is set here; the rest was set once by TakeEasy. Every
  // option set here is set for every transfer, so nothing leaks from a handle's previous job.
  if (!transfer.easy) transfer.easy = TakeEasy();
  if (!transfer.easy) return false;
  CURL* easy = transfer.easy.get();
  const FetchRequest& request = transfer.running->job->request;
  transfer.body.clear();
  transfer.body.reserve(kInitialBodyCapacity);
  long timeout_ms = std::max<long>(1, static_cast<long>(absl::ToInt64Milliseconds(transfer.ends - now)));
  curl_easy_setopt(easy, CURLOPT_URL, transfer.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &transfer);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body_bytes));
  // HTTPGET resets the method (handles are reused); a 301, 302 or 303 turned a POST into a GET.
  Method method = transfer.as_get ? Method::kGet : request.method;
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, nullptr);
  switch (method) {
    case Method::kGet:
      break;
    case Method::kHead:
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
      break;
    case Method::kDelete:
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "DELETE");
      if (request.body.empty()) break;
      [[fallthrough]];
    case Method::kPost:
    case Method::kPut:
    case Method::kPatch:
      // The body stays in the job's request, which outlives the transfer.
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
      if (method != Method::kPost) {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, MethodName(method).data());
      }
      break;
  }
  bool tls = absl::StartsWithIgnoreCase(transfer.url, "https:");
  curl_easy_setopt(easy, CURLOPT_PIPEWAIT, tls ? 1L : 0L);  // prefer multiplexing on HTTP/2
  curl_slist* headers = nullptr;
  if (transfer.headers && transfer.headers->native() != nullptr) {
    headers = static_cast<curl_slist*>(const_cast<void*>(transfer.headers->native()));
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  return curl_multi_add_handle(multi_.get(), easy) == CURLM_OK;
}

void CurlLoop::DrainCompletions() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_.get(), &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    CURLcode code = message->data.result;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&transfer));
    curl_multi_remove_handle(multi_.get(), easy);
    OnTransferDone(transfer, code);
  }
}

bool CurlLoop::FollowRedirect(Transfer& transfer, absl::Time now) {
  const FetchRequest& request = transfer.running->job->request;
  if (options_.follow_redirects == 0 || request.no_redirects) return false;
  long http = 0;
  curl_easy_getinfo(transfer.easy.get(), CURLINFO_RESPONSE_CODE, &http);
  const char* location = nullptr;
  curl_easy_getinfo(transfer.easy.get(), CURLINFO_REDIRECT_URL, &location);
  if (!IsFollowedRedirect(static_cast<int>(http)) || location == nullptr) return false;
  if (transfer.hops >= options_.follow_redirects) {
    transfer.redirect_error = absl::StrCat("more than ", options_.follow_redirects,
                                           " redirects (--follow_redirects)");
    return false;
  }
  absl::StatusOr<RedirectHop> hop = NextHop(transfer.url, location);
  if (!hop.ok()) {
    transfer.redirect_error = std::string(hop.status().message());
    return false;
  }
  if (!hop->same_origin && !request.redirect_keeps_headers && transfer.headers) {
    transfer.headers = transfer.headers->RedirectSafe();
  }
  // As browsers and curl do: after a 303, and a 301 or 302 answering a POST, the next hop is a
  // GET without the body; 307 and 308 repeat the method and body.
  if (http == 303 ? request.method != Method::kHead
                  : (http == 301 || http == 302) && request.method == Method::kPost) {
    transfer.as_get = true;
  }
  transfer.url = std::move(hop->url);
  ++transfer.hops;
  transfer.retry_after.clear();
  transfer.link.clear();
  transfer.header_lines = 0;
  if (transfer.ends <= now) return false;  // the 3xx arrived as time ran out: it is the answer
  return Launch(transfer, now);
}

void CurlLoop::OnTransferDone(Transfer* transfer, CURLcode code) {
  absl::Time now = absl::Now();
  Running& running = *transfer->running;
  Job& job = *running.job;
  if (code == CURLE_OK && FollowRedirect(*transfer, now)) return;
  FetchResult result;
  long http = 0;
  curl_easy_getinfo(transfer->easy.get(), CURLINFO_RESPONSE_CODE, &http);
  result.http_status = static_cast<int>(http);
  TransferFindings findings;
  findings.blocked = transfer->blocked;
  findings.blocked_reason = transfer->blocked_reason;
  findings.too_large = transfer->too_large;
  findings.max_body_bytes = job.request.max_body_bytes;
  findings.deadline_bound = transfer->deadline_bound;
  findings.timeout = job.request.timeout;
  findings.error_buffer = transfer->error_buffer;
  ClassifyCurlResult(code, findings, &result);
  if (!transfer->redirect_error.empty()) {
    result.outcome = FetchOutcome::kRedirectError;
    result.error = transfer->redirect_error;
  }
  if (result.outcome == FetchOutcome::kResponse) {
    result.body = std::move(transfer->body);
    result.link = std::move(transfer->link);
    if (transfer->hops > 0) result.final_url = transfer->url;
  }
  if (running.transfers.size() > 1) {
    if (result.outcome != FetchOutcome::kResponse) {
      // A failed transfer never wins while its twin runs: the twin may still answer.
      EndTransfer(running, transfer);
      return;
    }
    if (transfer != running.transfers.front().get()) {
      stats_->hedges_won.fetch_add(1, std::memory_order_relaxed);
    }
    for (size_t i = running.transfers.size(); i-- > 0;) {
      if (running.transfers[i].get() != transfer) EndTransfer(running, running.transfers[i].get());
    }
  }
  hedger_.Disarm(&job);
  scheduler_.ForgetHedge(job);
  result.queue_wait = job.waited;
  result.latency = now - running.started;
  result.attempts = job.attempts;
  if (result.outcome == FetchOutcome::kResponse && Hedges(job.group->options, job.request)) {
    hedger_.RecordLatency(job.request.host, now - transfer->started);
  }
  bool throttled = result.outcome == FetchOutcome::kResponse &&
                   (result.http_status == 429 || result.http_status == 503);
  scheduler_.OnAnswer(*job.host, throttled, result.latency, now);
  std::string retry_after = std::move(transfer->retry_after);
  EndTransfer(running, transfer);
  auto it = running_.find(&job);
  std::unique_ptr<Running> owned = std::move(it->second);
  running_.erase(it);
  std::unique_ptr<Job> done = std::move(owned->job);
  Scheduler::RetryDecision retry = scheduler_.DecideRetry(*done, result, retry_after, now);
  if (retry.retry) {
    done->budget_wait += retry.budget_wait;
    done->previous = std::move(result);
    done->waiting_since = now;
    scheduler_.Delay(std::move(done), now + retry.wait);
    return;
  }
  if (!retry.note.empty()) result.note = std::move(retry.note);
  Complete(std::move(done), result);
}

void CurlLoop::EndTransfer(Running& running, Transfer* transfer) {
  // Completed transfers are off the multi handle already (DrainCompletions); removing again is
  // harmless.
  curl_multi_remove_handle(multi_.get(), transfer->easy.get());
  ReleaseEasy(std::move(transfer->easy));
  scheduler_.EndTransfer(*running.job);
  std::erase_if(running.transfers, [transfer](const auto& t) { return t.get() == transfer; });
}

void CurlLoop::ExpireWaiting(absl::Time now) {
  for (auto& job : scheduler_.TakeExpired(now)) {
    PublishGauges();
    FetchResult result = EndedWaiting(
        *job, FetchOutcome::kTimeout, "the RPC deadline was reached while the job was queued", now);
    Complete(std::move(job), result);
  }
  for (auto& job : coalescer_.TakeExpired(now)) {
    FetchResult result = EndedWaiting(*job, FetchOutcome::kTimeout,
                                      "the RPC deadline was reached while the job waited for an "
                                      "identical request's answer",
                                      now);
    Complete(std::move(job), result);
  }
}

FetchResult CurlLoop::EndedWaiting(Job& job, FetchOutcome outcome, absl::string_view why,
                                   absl::Time now) {
  FetchResult result;
  if (job.previous && outcome == FetchOutcome::kTimeout) {
    // The deadline came before the next retry: the job ends with what its last attempt got.
    result = std::move(*job.previous);
    result.note = "the deadline came before the next retry";
  } else {
    result.outcome = outcome;
    result.error = std::string(why);
  }
  result.queue_wait = job.waited + (now - job.waiting_since);
  result.attempts = job.attempts;
  return result;
}

void CurlLoop::Complete(std::unique_ptr<Job> job, FetchResult& result) {
  result.budget_wait = job->budget_wait;
  if (!job->coalesce_key.empty()) {
    absl::Time now = absl::Now();
    bool cut_by_its_call =
        result.outcome == FetchOutcome::kCancelled ||
        (result.outcome == FetchOutcome::kTimeout && job->group->options.deadline <= now);
    Coalescer::Handoff handoff = coalescer_.Finish(*job, result, cut_by_its_call, now);
    if (handoff.next_leader) {
      if (stopping_) {
        FetchResult cancelled = EndedWaiting(*handoff.next_leader, FetchOutcome::kCancelled,
                                             "cancelled while queued: the server is shutting down",
                                             now);
        Complete(std::move(handoff.next_leader), cancelled);
      } else {
        scheduler_.Enqueue(std::move(handoff.next_leader));
      }
    }
    for (auto& follower : handoff.followers) {
      FetchResult copy = result;
      copy.shared = true;
      copy.attempts = 0;
      copy.queue_wait = now - follower->waiting_since;
      stats_->coalesced.fetch_add(1, std::memory_order_relaxed);
      Deliver(std::move(follower), copy);
    }
  }
  Deliver(std::move(job), result);
}

void CurlLoop::Deliver(std::unique_ptr<Job> job, FetchResult& result) {
  // Gauges first: a sink that sees its last job may read them.
  PublishGauges();
  stats_->completed.fetch_add(1, std::memory_order_relaxed);
  if (result.attempts == 0 && !result.shared) result.attempts = job->attempts;
  job->group->sink->OnFetchDone(job->tag, result);
}

int CurlLoop::NextPollMs(absl::Time now) const {
  absl::Time next = std::min({scheduler_.NextWakeup(), coalescer_.NextWakeup(),
                              hedger_.NextWakeup(), now + absl::Milliseconds(kMaxPollMs)});
  return static_cast<int>(std::max<int64_t>(absl::ToInt64Milliseconds(next - now) + 1, 0));
}

EasyHandle CurlLoop::TakeEasy() {
  if (!free_easy_.empty()) {
    EasyHandle easy = std::move(free_easy_.back());
    free_easy_.pop_back();
    return easy;
  }
  // A new handle gets the options every transfer shares, once: handles are reused without
  // curl_easy_reset, which would free and copy these strings again for every request.
  EasyHandle handle(curl_easy_init());
  CURL* easy = handle.get();
  if (easy == nullptr) return handle;
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CurlLoop::OnWrite);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &CurlLoop::OnHeader);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlLoop::OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
  // Compressed answers are asked for with gzip only (the shortest header libcurl builds per
  // request); any encoding libcurl knows is still decoded, within max_body_bytes.
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are followed hop by hop here
  curl_easy_setopt(easy, CURLOPT_PROXY, "");           // no proxy from the environment
  curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (resolve_) curl_easy_setopt(easy, CURLOPT_RESOLVE, resolve_.get());
  return handle;
}

void CurlLoop::ReleaseEasy(EasyHandle easy) {
  if (!easy) return;
  // Pointers into the finished transfer go; the next Launch sets every per-transfer option.
  curl_easy_setopt(easy.get(), CURLOPT_PRIVATE, nullptr);
  curl_easy_setopt(easy.get(), CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, nullptr);
  if (static_cast<int>(free_easy_.size()) < options_.scheduler.max_inflight) {
    free_easy_.push_back(std::move(easy));
  }
}

void CurlLoop::PublishGauges() {
  int64_t inflight = scheduler_.inflight();
  int64_t total = stats_->inflight.fetch_add(inflight - published_inflight_,
                                             std::memory_order_relaxed) +
                  (inflight - published_inflight_);
  published_inflight_ = inflight;
  int64_t seen = stats_->max_inflight_seen.load(std::memory_order_relaxed);
  while (total > seen && !stats_->max_inflight_seen.compare_exchange_weak(
                             seen, total, std::memory_order_relaxed)) {
  }
  int64_t queued = scheduler_.queued();
  stats_->queued.fetch_add(queued - published_queued_, std::memory_order_relaxed);
  published_queued_ = queued;
}

size_t CurlLoop::OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  std::string& body = transfer->body;
  if (body.size() + length > transfer->running->job->request.max_body_bytes) {
    transfer->too_large = true;
    return 0;  // CURLE_WRITE_ERROR; reported as kTooLarge
  }
  if (body.capacity() < body.size() + length + kBodyPadding) {
    body.reserve(std::max(body.capacity() * 2, body.size() + length + kBodyPadding));
  }
  body.append(data, length);
  return length;
}

size_t CurlLoop::OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  absl::string_view line(data, length);
  if (absl::StartsWith(line, "HTTP/")) {
    transfer->retry_after.clear();  // a new response (after a 100 Continue)
    transfer->link.clear();
    transfer->header_lines = 0;
  } else if (line.size() > 5 && absl::EqualsIgnoreCase(line.substr(0, 5), "link:")) {
    // Several Link lines are one list (RFC 9110 5.3); the header size cap bounds it.
    if (!transfer->link.empty()) transfer->link.append(", ");
    absl::StrAppend(&transfer->link, absl::StripAsciiWhitespace(line.substr(5)));
  } else if (line.size() > 12 && absl::EqualsIgnoreCase(line.substr(0, 12), "retry-after:")) {
    transfer->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  long total = 0;
  curl_easy_getinfo(transfer->easy.get(), CURLINFO_HEADER_SIZE, &total);
  if (total + static_cast<long>(length) > kMaxHeaderBytes ||
      ++transfer->header_lines > kMaxHeaderLines) {
    transfer->too_large = true;
    return 0;
  }
  return length;
}

curl_socket_t CurlLoop::OnOpenSocket(void* user, curlsocktype /*purpose*/,
                                     curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  policy::EgressDecision decision =
      transfer->loop->options_.egress.Check(&address->addr, common::HostOf(transfer->url));
  if (!decision.allowed) {
    transfer->blocked = true;
    transfer->blocked_reason = std::move(decision.reason);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace gather::fetch
