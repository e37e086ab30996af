#include "service/fetch/curl_engine.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "service/extract/url_template.h"
#include "service/policy/adaptive_rate.h"
#include "service/policy/token_bucket.h"

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

std::once_flag global_init_once;

}  // namespace

// Loop-thread state. Everything here except the inbox is touched only by the loop thread.
class CurlEngine::Loop {
 public:
  Loop(EngineOptions options, CURLM* multi, EngineStats* stats)
      : options_(std::move(options)), multi_(multi), stats_(stats) {
    for (const std::string& entry : options_.resolve) {
      resolve_ = curl_slist_append(resolve_, entry.c_str());
    }
  }
  ~Loop();

  void set_stats(EngineStats* stats) { stats_ = stats; }

  // ---- called from any thread ----
  struct Command {
    enum class Kind { kOpen, kSubmit, kCancel, kClose, kStop };
    explicit Command(Kind k) : kind(k) {}
    Kind kind;
    GroupId group = 0;
    uint64_t tag = 0;
    FetchRequest request;
    FetchSink* sink = nullptr;
    GroupOptions options;
    FetchOutcome outcome = FetchOutcome::kCancelled;
    absl::Time submitted;
  };
  void Post(Command command) {
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      inbox_.push_back(std::move(command));
    }
    curl_multi_wakeup(multi_);
  }
  void PostMany(std::vector<Command> commands) {
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      for (auto& command : commands) inbox_.push_back(std::move(command));
    }
    curl_multi_wakeup(multi_);
  }

  // ---- the loop thread ----
  void Run();

  // ---- the stopping thread, after Run returned (the loop thread is joined) ----
  // Commands that arrived after the loop stopped (a sink answering a cancelled job on another
  // loop may submit more): each submitted job completes with kCancelled here. Returns whether
  // there were any.
  bool CancelLeftovers();

  // ---- any thread ----
  double PublishedRate(const std::string& host) const {
    std::lock_guard<std::mutex> lock(published_mu_);
    auto it = published_rates_.find(host);
    return it == published_rates_.end() ? 0 : it->second;
  }
  std::vector<std::pair<std::string, double>> PublishedRates() const {
    std::lock_guard<std::mutex> lock(published_mu_);
    return {published_rates_.begin(), published_rates_.end()};
  }

 private:
  struct Group;
  struct HostState;
  struct Transfer {
    Loop* loop = nullptr;
    Group* group = nullptr;
    uint64_t tag = 0;
    FetchRequest request;
    CURL* easy = nullptr;
    HostState* host = nullptr;
    std::string body;
    absl::Time waiting_since;  // when it last started to wait (submit, or a retry scheduled)
    absl::Duration waited = absl::ZeroDuration();  // queue time of earlier attempts
    absl::Time started;
    uint32_t attempts = 0;
    bool deadline_bound = false;  // the group deadline, not the job timeout, set the curl timeout
    bool too_large = false;
    bool blocked = false;
    std::string blocked_reason;
    std::string retry_after;  // the last response's Retry-After header, if any
    int header_lines = 0;     // of the current response
    // A retry waiting for its time: its place in delayed_, and what the failed attempt was.
    std::multimap<absl::Time, Transfer*>::iterator delayed_at;
    bool delayed = false;
    std::optional<FetchResult> previous;
    // Coalescing: a leader fetches for its followers (identical requests), which wait here.
    std::string coalesce_key;         // set on a leader while it is registered in leaders_
    Transfer* leader = nullptr;       // set on a follower
    std::vector<Transfer*> followers;
    // Hedging: a primary may get one twin (the hedge) racing it; the hedge points back.
    Transfer* twin = nullptr;
    bool is_hedge = false;
    std::multimap<absl::Time, Transfer*>::iterator hedge_at;
    bool hedge_pending = false;  // an entry in hedges_
    char error_buffer[CURL_ERROR_SIZE] = {};
  };
  struct Group {
    GroupId id = 0;
    FetchSink* sink = nullptr;
    GroupOptions options;
    std::deque<std::unique_ptr<Transfer>> queue;
    absl::flat_hash_set<Transfer*> inflight;
    absl::flat_hash_set<Transfer*> delayed;
    absl::flat_hash_set<HostState*> hosts;  // hosts this group has submitted to
    absl::flat_hash_set<Transfer*> followers;  // jobs waiting on another job's identical fetch
  };
  // Per host, shared by every group: transfers in flight, the rate bucket, the retry budget.
  struct HostState {
    HostState(std::string name, absl::Time now, const EngineOptions& options)
        : name(std::move(name)),
          budget(options.retry_budget_ratio, options.retry_budget_min_per_second,
                 std::max(10.0, options.retry_budget_min_per_second * 10), now) {}
    std::string name;
    int inflight = 0;
    int groups = 0;  // open groups that submitted here
    std::optional<policy::HostRate> server_rate;
    absl::flat_hash_map<GroupId, std::pair<double, double>> group_rates;  // rate, burst
    std::optional<policy::TokenBucket> bucket;
    policy::RetryBudget budget;
    int auto_groups = 0;  // open groups asking for rate "auto" here
    // Recent answer latencies (a ring) and their p95, for automatic hedging.
    std::vector<absl::Duration> latencies;
    size_t next_latency = 0;
    uint64_t latency_count = 0;
    absl::Duration p95 = absl::InfiniteDuration();
    uint64_t p95_count = 0;  // latency_count when p95 was computed
    std::optional<policy::AdaptiveRate> adaptive;
    bool limited = false;  // a job waited for a token since the last adaptive tick
  };

  void ProcessInbox();
  void OpenGroupHere(const Command& command);  // a kOpen command
  // Hedging.
  void ScheduleHedge(Transfer* transfer, absl::Time now);
  void CancelHedgeTimer(Transfer* transfer);
  void FireHedges(absl::Time now);
  void DropTwin(Transfer* primary);  // stops and deletes a primary's running hedge
  void RecordLatency(HostState& host, absl::Duration latency);
  absl::Duration LatencyP95(HostState& host);
  // Sets up `easy` for `transfer` and adds it to the multi handle.
  CURLMcode Launch(Transfer* transfer, CURL* easy, long timeout_ms);
  // Coalescing. Returns true when `transfer` was answered from a recent identical fetch or
  // attached to one in progress (then it is owned elsewhere).
  bool Coalesce(std::unique_ptr<Transfer>& transfer, absl::Time now);
  void ShareResult(Transfer* leader, const FetchResult& result);
  void DetachFollower(Transfer* follower);
  void ExpireFollowers(absl::Time now);
  HostState& HostFor(const std::string& name, absl::Time now);
  void UpdateBucket(HostState& host, absl::Time now);
  void ReleaseHost(HostState& host);
  void PromoteDueRetries(absl::Time now);
  bool ScheduleRetry(Transfer* transfer, FetchResult& result, absl::Time now);
  // The result of a job ended while it waited after failed attempts: the last attempt's result,
  // with `why` as the note.
  FetchResult EndedWaiting(Transfer* transfer, FetchOutcome outcome, absl::string_view why,
                           absl::Time now);
  bool Admit(absl::Time now);
  void Start(std::unique_ptr<Transfer> transfer, absl::Time now);
  void DrainCompletions();
  void ExpireQueued(absl::Time now);
  int NextPollMs(absl::Time now) const;
  void CancelGroupJobs(Group& group, FetchOutcome outcome, absl::string_view why);
  void Complete(Transfer* transfer, FetchResult& result);
  void FinishTransfer(Transfer* transfer, CURLcode code);
  CURL* TakeEasy();
  void ReleaseEasy(CURL* easy);

  static size_t OnWrite(char* data, size_t size, size_t count, void* user);
  static size_t OnHeader(char* data, size_t size, size_t count, void* user);
  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address);

  EngineOptions options_;
  CURLM* multi_;
  EngineStats* stats_;

  std::mutex inbox_mu_;
  std::vector<Command> inbox_;      // guarded by inbox_mu_
  std::vector<Command> processing_; // loop thread: swapped with inbox_

  absl::flat_hash_map<GroupId, std::unique_ptr<Group>> groups_;
  std::vector<Group*> ready_;       // groups with queued jobs, round-robin order
  size_t ready_cursor_ = 0;
  absl::node_hash_map<std::string, HostState> hosts_;
  std::multimap<absl::Time, Transfer*> delayed_;  // retries by the time they may start
  absl::flat_hash_set<HostState*> adaptive_hosts_;
  std::multimap<absl::Time, Transfer*> hedges_;  // primaries by the time their hedge is due
  mutable std::mutex published_mu_;
  absl::flat_hash_map<std::string, double> published_rates_;  // guarded by published_mu_
  absl::flat_hash_map<std::string, Transfer*> leaders_;  // coalescing key -> the job fetching it
  struct RecentAnswer {
    FetchResult result;
    absl::Time expires;
  };
  absl::flat_hash_map<std::string, RecentAnswer> recent_;
  size_t recent_bytes_ = 0;
  void EraseRecent(const std::string& key) {
    auto it = recent_.find(key);
    if (it == recent_.end()) return;
    recent_bytes_ -= it->second.result.body.size();
    recent_.erase(it);
  }
  std::deque<std::pair<absl::Time, std::string>> recent_order_;  // by expiry
  absl::Time next_token_ = absl::InfiniteFuture();  // earliest rate token a queued job waits for
  std::mt19937_64 random_{std::random_device{}()};
  std::vector<CURL*> free_easy_;
  curl_slist* resolve_ = nullptr;  // options_.resolve as curl wants it
  int64_t inflight_ = 0;
  int64_t queued_ = 0;
  // What this loop has added to the shared gauges (stats_ is shared by every loop of the engine).
  int64_t published_inflight_ = 0;
  int64_t published_queued_ = 0;
  void PublishInflight() {
    int64_t total = stats_->inflight.fetch_add(inflight_ - published_inflight_,
                                               std::memory_order_relaxed) +
                    (inflight_ - published_inflight_);
    published_inflight_ = inflight_;
    int64_t seen = stats_->max_inflight_seen.load(std::memory_order_relaxed);
    while (total > seen && !stats_->max_inflight_seen.compare_exchange_weak(
                               seen, total, std::memory_order_relaxed)) {
    }
  }
  void PublishQueued() {
    stats_->queued.fetch_add(queued_ - published_queued_, std::memory_order_relaxed);
    published_queued_ = queued_;
  }
  bool stopping_ = false;
};

CurlEngine::Loop::~Loop() {
  for (CURL* easy : free_easy_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  curl_slist_free_all(resolve_);
}

void CurlEngine::Loop::Run() {
  while (true) {
    ProcessInbox();
    if (stopping_) break;
    absl::Time now = absl::Now();
    PromoteDueRetries(now);
    FireHedges(now);
    ExpireQueued(now);
    ExpireFollowers(now);
    for (HostState* host : adaptive_hosts_) {
      if (host->adaptive->Tick(now, host->limited)) UpdateBucket(*host, now);
      host->limited = false;
    }
    Admit(now);
    int running = 0;
    curl_multi_perform(multi_, &running);
    DrainCompletions();
    if (Admit(absl::Now())) continue;  // new transfers: let perform start them at once
    curl_multi_poll(multi_, nullptr, 0, NextPollMs(absl::Now()), nullptr);
  }
  // Stopping: every job still known ends with kCancelled.
  for (auto& [id, group] : groups_) {
    CancelGroupJobs(*group, FetchOutcome::kCancelled, "the server is shutting down");
  }
}

bool CurlEngine::Loop::CancelLeftovers() {
  std::vector<Command> left;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    left.swap(inbox_);
  }
  for (Command& command : left) {
    if (command.kind == Command::Kind::kOpen) {
      OpenGroupHere(command);
    } else if (command.kind == Command::Kind::kSubmit) {
      auto it = groups_.find(command.group);
      if (it == groups_.end()) continue;  // submit after close: dropped, as while running
      FetchResult result;
      result.outcome = FetchOutcome::kCancelled;
      result.error = "cancelled while queued: the server is shutting down";
      result.queue_wait = absl::Now() - command.submitted;
      stats_->completed.fetch_add(1, std::memory_order_relaxed);
      it->second->sink->OnFetchDone(command.tag, result);
    } else if (command.kind == Command::Kind::kClose) {
      groups_.erase(command.group);
    }
  }
  return !left.empty();
}

void CurlEngine::Loop::OpenGroupHere(const Command& command) {
  auto group = std::make_unique<Group>();
  group->id = command.group;
  group->sink = command.sink;
  group->options = command.options;
  group->options.max_concurrency = std::max(1, group->options.max_concurrency);
  groups_[command.group] = std::move(group);
}

void CurlEngine::Loop::ProcessInbox() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    processing_.swap(inbox_);
  }
  for (Command& command : processing_) {
    switch (command.kind) {
      case Command::Kind::kOpen:
        OpenGroupHere(command);
        break;
      case Command::Kind::kSubmit: {
        auto it = groups_.find(command.group);
        if (it == groups_.end()) break;  // contract violation: submit after close; dropped
        Group& group = *it->second;
        auto transfer = std::make_unique<Transfer>();
        transfer->loop = this;
        transfer->group = &group;
        transfer->tag = command.tag;
        transfer->request = std::move(command.request);
        transfer->waiting_since = command.submitted;
        if (transfer->request.host.empty()) {
          transfer->request.host = extract::HostOf(transfer->request.url);
        }
        absl::Time now = command.submitted;
        HostState& host = HostFor(transfer->request.host, now);
        transfer->host = &host;
        if (group.hosts.insert(&host).second) {
          ++host.groups;
          if (group.options.rate_auto && host.auto_groups++ == 0) {
            host.adaptive.emplace(policy::AdaptiveRateOptions(), now);
            adaptive_hosts_.insert(&host);
          }
          if (group.options.rate > 0) {
            host.group_rates[group.id] = {group.options.rate, group.options.burst};
          }
          if (group.options.rate > 0 || group.options.rate_auto) UpdateBucket(host, now);
        }
        if (transfer->request.coalesce && Coalesce(transfer, now)) break;
        if (group.queue.empty()) ready_.push_back(&group);
        group.queue.push_back(std::move(transfer));
        ++queued_;
        break;
      }
      case Command::Kind::kCancel: {
        auto it = groups_.find(command.group);
        if (it == groups_.end()) break;
        CancelGroupJobs(*it->second, command.outcome,
                        command.outcome == FetchOutcome::kTimeout ? "the RPC deadline was reached"
                                                                  : "the call was cancelled");
        break;
      }
      case Command::Kind::kClose: {
        auto it = groups_.find(command.group);
        if (it == groups_.end()) break;
        // A well-behaved caller closes only drained groups; cancel anything left so no job is
        // orphaned.
        CancelGroupJobs(*it->second, FetchOutcome::kCancelled, "the group was closed");
        std::erase(ready_, it->second.get());
        for (HostState* host : it->second->hosts) {
          bool changed = host->group_rates.erase(it->first) > 0;
          if (it->second->options.rate_auto && --host->auto_groups == 0) {
            host->adaptive.reset();
            adaptive_hosts_.erase(host);
            changed = true;
          }
          if (changed) UpdateBucket(*host, absl::Now());
          --host->groups;
          ReleaseHost(*host);
        }
        groups_.erase(it);
        break;
      }
      case Command::Kind::kStop:
        stopping_ = true;
        break;
    }
  }
  processing_.clear();
  PublishQueued();
}

void CurlEngine::Loop::CancelGroupJobs(Group& group, FetchOutcome outcome, absl::string_view why) {
  // Queued and delayed jobs first (not in flight), then in-flight transfers.
  absl::Time now = absl::Now();
  std::vector<Transfer*> waiting;
  while (!group.queue.empty()) {
    waiting.push_back(group.queue.front().release());
    group.queue.pop_front();
    --queued_;
  }
  for (Transfer* transfer : group.delayed) {
    delayed_.erase(transfer->delayed_at);
    transfer->delayed = false;
    waiting.push_back(transfer);
  }
  group.delayed.clear();
  std::vector<Transfer*> followers(group.followers.begin(), group.followers.end());
  for (Transfer* follower : followers) {
    DetachFollower(follower);
    waiting.push_back(follower);
  }
  PublishQueued();  // before the sink sees the result
  std::erase(ready_, &group);
  for (Transfer* transfer : waiting) {
    std::string reason = absl::StrCat(
        outcome == FetchOutcome::kTimeout ? "timed out" : "cancelled", " while queued: ", why);
    FetchResult result = EndedWaiting(transfer, outcome, reason, now);
    Complete(transfer, result);
  }
  std::vector<Transfer*> inflight(group.inflight.begin(), group.inflight.end());
  for (Transfer* transfer : inflight) {
    DropTwin(transfer);
    CancelHedgeTimer(transfer);
    curl_multi_remove_handle(multi_, transfer->easy);
    FetchResult result;
    result.outcome = outcome;
    result.error = std::string(why);
    result.queue_wait = transfer->waited;
    result.latency = now - transfer->started;
    result.attempts = transfer->attempts;
    long code = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &code);
    result.http_status = static_cast<int>(code);
    Complete(transfer, result);
  }
  PublishQueued();
}

FetchResult CurlEngine::Loop::EndedWaiting(Transfer* transfer, FetchOutcome outcome,
                                           absl::string_view why, absl::Time now) {
  FetchResult result;
  if (transfer->previous && outcome == FetchOutcome::kTimeout) {
    // The deadline came before the next retry: the job ends with what its last attempt got.
    result = std::move(*transfer->previous);
    result.note = "the deadline came before the next retry";
  } else {
    result.outcome = outcome;
    result.error = std::string(why);
  }
  result.queue_wait = transfer->waited + (now - transfer->waiting_since);
  result.attempts = transfer->attempts;
  return result;
}

CurlEngine::Loop::HostState& CurlEngine::Loop::HostFor(const std::string& name, absl::Time now) {
  auto it = hosts_.find(name);
  if (it != hosts_.end()) return it->second;
  HostState& host = hosts_.try_emplace(name, name, now, options_).first->second;
  host.server_rate = policy::MatchHostRate(options_.host_rates, name);
  UpdateBucket(host, now);
  return host;
}

void CurlEngine::Loop::UpdateBucket(HostState& host, absl::Time now) {
  double rate = 0, burst = 0;
  if (host.server_rate) {
    rate = host.server_rate->rate;
    burst = host.server_rate->burst;
  }
  for (const auto& [group, wanted] : host.group_rates) {
    if (rate == 0 || wanted.first < rate) {
      rate = wanted.first;
      burst = wanted.second;
    }
  }
  if (host.adaptive && (rate == 0 || host.adaptive->rate() < rate)) {
    rate = host.adaptive->rate();
    burst = 0;
  }
  {
    std::lock_guard<std::mutex> lock(published_mu_);
    if (rate > 0) {
      published_rates_[host.name] = rate;
    } else {
      published_rates_.erase(host.name);
    }
  }
  if (rate <= 0) {
    host.bucket.reset();
    return;
  }
  if (burst <= 0) burst = policy::TokenBucket::DefaultBurst(rate);
  if (host.bucket) {
    host.bucket->Reset(rate, burst, now);
  } else {
    host.bucket.emplace(rate, burst, now);
  }
}

void CurlEngine::Loop::ReleaseHost(HostState& host) {
  // A host's state lives while a group uses it or a transfer runs there; a new group starts with
  // a fresh bucket (holding only its small burst) and a fresh budget.
  if (host.groups == 0 && host.inflight == 0) {
    {
      std::lock_guard<std::mutex> lock(published_mu_);
      published_rates_.erase(host.name);
    }
    hosts_.erase(host.name);
  }
}

void CurlEngine::Loop::PromoteDueRetries(absl::Time now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    Transfer* transfer = delayed_.begin()->second;
    delayed_.erase(delayed_.begin());
    transfer->delayed = false;
    Group* group = transfer->group;
    group->delayed.erase(transfer);
    if (group->queue.empty()) ready_.push_back(group);
    group->queue.push_front(std::unique_ptr<Transfer>(transfer));  // retries go first
    ++queued_;
  }
}

bool CurlEngine::Loop::ScheduleRetry(Transfer* transfer, FetchResult& result, absl::Time now) {
  bool retryable = result.outcome == FetchOutcome::kConnectError ||
                   (result.outcome == FetchOutcome::kResponse &&
                    policy::IsRetryableHttpStatus(result.http_status));
  if (!retryable || transfer->attempts >= static_cast<uint32_t>(transfer->request.max_attempts)) {
    return false;
  }
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  absl::Duration wait = policy::Backoff(static_cast<int>(transfer->attempts), options_.backoff,
                                        uniform(random_));
  if (!transfer->retry_after.empty()) {
    if (auto after = policy::ParseRetryAfter(transfer->retry_after, now); after) {
      if (*after > options_.max_retry_after) {
        result.note = absl::StrCat("not retried: Retry-After ", absl::FormatDuration(*after),
                                   " is longer than the server's --max_retry_after");
        return false;
      }
      wait = std::max(wait, *after);
    }
  }
  if (now + wait >= transfer->group->options.deadline) {
    result.note = absl::StrCat("not retried: the next attempt (in ", absl::FormatDuration(wait),
                               ") would start after the deadline");
    return false;
  }
  if (!transfer->host->budget.TryRetry(now)) {
    result.note = "not retried: the retry budget for this host is spent";
    stats_->retries_denied.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Back to waiting: free the transfer's slot and handle, remember this attempt's result.
  CancelHedgeTimer(transfer);
  Group* group = transfer->group;
  group->inflight.erase(transfer);
  --inflight_;
  PublishInflight();
  --transfer->host->inflight;
  ReleaseEasy(transfer->easy);
  transfer->easy = nullptr;
  result.queue_wait = transfer->waited;
  transfer->previous = std::move(result);
  transfer->body = std::string();
  transfer->retry_after.clear();
  transfer->too_large = transfer->blocked = transfer->deadline_bound = false;
  transfer->error_buffer[0] = '\0';
  transfer->waiting_since = now;
  transfer->delayed_at = delayed_.emplace(now + wait, transfer);
  transfer->delayed = true;
  group->delayed.insert(transfer);
  stats_->retries.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void CurlEngine::Loop::ExpireQueued(absl::Time now) {
  for (size_t i = 0; i < ready_.size();) {
    Group* group = ready_[i];
    if (group->options.deadline <= now && !group->queue.empty()) {
      // CancelGroupJobs erases the group from ready_; only queued jobs expire here, in-flight
      // transfers carry their own curl timeout.
      while (!group->queue.empty()) {
        std::unique_ptr<Transfer> transfer = std::move(group->queue.front());
        group->queue.pop_front();
        --queued_;
        PublishQueued();
        FetchResult result = EndedWaiting(
            transfer.get(), FetchOutcome::kTimeout,
            "the RPC deadline was reached while the job was queued", now);
        Complete(transfer.release(), result);
      }
      ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;
  }
}

int CurlEngine::Loop::NextPollMs(absl::Time now) const {
  int64_t ms = kMaxPollMs;
  auto until_ms = [&](absl::Time when) {
    return std::max<int64_t>(absl::ToInt64Milliseconds(when - now) + 1, 0);
  };
  if (!delayed_.empty()) ms = std::min(ms, until_ms(delayed_.begin()->first));
  if (!hedges_.empty()) ms = std::min(ms, until_ms(hedges_.begin()->first));
  if (!leaders_.empty()) {
    for (const auto& [id, group] : groups_) {
      if (!group->followers.empty() && group->options.deadline != absl::InfiniteFuture()) {
        ms = std::min(ms, until_ms(group->options.deadline));
      }
    }
  }
  if (next_token_ != absl::InfiniteFuture()) ms = std::min(ms, until_ms(next_token_));
  for (const Group* group : ready_) {
    if (group->options.deadline == absl::InfiniteFuture()) continue;
    int64_t until = absl::ToInt64Milliseconds(group->options.deadline - now) + 1;
    ms = std::min(ms, std::max<int64_t>(until, 0));
  }
  return static_cast<int>(ms);
}

bool CurlEngine::Loop::Admit(absl::Time now) {
  bool admitted_any = false;
  next_token_ = absl::InfiniteFuture();
  // Round-robin over groups with queued jobs: one job per group per pass, so one big RPC cannot
  // starve a small one. A group is skipped while it is at its own cap, or its head job's host is
  // at the per-host cap or out of rate tokens.
  bool progress = true;
  while (progress && inflight_ < options_.max_inflight && !ready_.empty()) {
    progress = false;
    for (size_t n = ready_.size(); n > 0 && inflight_ < options_.max_inflight; --n) {
      if (ready_cursor_ >= ready_.size()) ready_cursor_ = 0;
      Group* group = ready_[ready_cursor_];
      if (static_cast<int>(group->inflight.size()) >= group->options.max_concurrency) {
        ++ready_cursor_;
        continue;
      }
      HostState& host = *group->queue.front()->host;
      if (host.inflight >= options_.max_per_host) {
        ++ready_cursor_;
        continue;
      }
      if (host.bucket && !host.bucket->TryTake(now)) {
        next_token_ = std::min(next_token_, host.bucket->NextAvailable(now));
        host.limited = true;
        stats_->rate_waits.fetch_add(1, std::memory_order_relaxed);
        ++ready_cursor_;
        continue;
      }
      std::unique_ptr<Transfer> transfer = std::move(group->queue.front());
      group->queue.pop_front();
      --queued_;
      if (group->queue.empty()) {
        ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(ready_cursor_));
      } else {
        ++ready_cursor_;
      }
      Start(std::move(transfer), now);
      admitted_any = progress = true;
    }
  }
  PublishQueued();
  return admitted_any;
}

void CurlEngine::Loop::Start(std::unique_ptr<Transfer> owned, absl::Time now) {
  Transfer* transfer = owned.release();  // owned by the multi handle until FinishTransfer
  Group* group = transfer->group;
  transfer->started = now;
  transfer->waited += now - transfer->waiting_since;
  absl::Duration timeout = transfer->request.timeout;
  absl::Duration left = group->options.deadline - now;
  if (left <= absl::ZeroDuration()) {
    transfer->waiting_since = now;
    FetchResult result = EndedWaiting(transfer, FetchOutcome::kTimeout,
                                      "the RPC deadline was reached before the transfer started",
                                      now);
    Complete(transfer, result);
    return;
  }
  if (left < timeout) {
    timeout = left;
    transfer->deadline_bound = true;
  }
  long timeout_ms = std::max<long>(1, static_cast<long>(absl::ToInt64Milliseconds(timeout)));

  CURL* easy = TakeEasy();
  CURLMcode rc = easy != nullptr ? Launch(transfer, easy, timeout_ms) : CURLM_OUT_OF_MEMORY;
  if (rc != CURLM_OK) {
    FetchResult result;
    result.outcome = FetchOutcome::kError;
    result.error = absl::StrCat("cannot start transfer: ", curl_multi_strerror(rc));
    result.queue_wait = transfer->waited;
    result.attempts = transfer->attempts;
    if (easy != nullptr) ReleaseEasy(easy);
    transfer->easy = nullptr;
    Complete(transfer, result);
    return;
  }
  if (transfer->attempts == 0) transfer->host->budget.OnRequest(now);
  ++transfer->attempts;
  ++transfer->host->inflight;
  group->inflight.insert(transfer);
  ++inflight_;
  PublishInflight();
  stats_->started.fetch_add(1, std::memory_order_relaxed);
  ScheduleHedge(transfer, now);
}

CURLMcode CurlEngine::Loop::Launch(Transfer* transfer, CURL* easy, long timeout_ms) {
  // Only what differs between transfers is set here; the rest was set once by TakeEasy. Every
  // option set here is set for every transfer, so nothing leaks from a handle's previous job.
  transfer->easy = easy;
  transfer->body.reserve(kInitialBodyCapacity);
  const FetchRequest& request = transfer->request;
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error_buffer);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_body_bytes));
  curl_easy_setopt(easy, CURLOPT_NOBODY, request.head ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION,
                   options_.follow_redirects > 0 && !request.no_redirects ? 1L : 0L);
  bool tls = request.url.size() > 8 && (request.url[4] == 's' || request.url[4] == 'S');
  curl_easy_setopt(easy, CURLOPT_PIPEWAIT, tls ? 1L : 0L);  // prefer multiplexing on HTTP/2
  curl_slist* headers = nullptr;
  if (request.headers && request.headers->native() != nullptr) {
    headers = static_cast<curl_slist*>(const_cast<void*>(request.headers->native()));
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  return curl_multi_add_handle(multi_, easy);
}

void CurlEngine::Loop::ScheduleHedge(Transfer* transfer, absl::Time now) {
  const GroupOptions& options = transfer->group->options;
  if (transfer->is_hedge || transfer->twin != nullptr) return;
  absl::Duration delay = options.hedge_after;
  if (options.hedge_auto) {
    HostState& host = *transfer->host;
    if (host.latency_count < 50) return;  // not known yet
    absl::Duration p95 = LatencyP95(host);
    if (p95 == absl::InfiniteDuration()) return;
    delay = std::min(delay, p95 + std::max(absl::Milliseconds(1), p95 / 5));
  }
  if (delay == absl::InfiniteDuration() || now + delay >= options.deadline) return;
  transfer->hedge_at = hedges_.emplace(now + delay, transfer);
  transfer->hedge_pending = true;
}

void CurlEngine::Loop::CancelHedgeTimer(Transfer* transfer) {
  if (!transfer->hedge_pending) return;
  hedges_.erase(transfer->hedge_at);
  transfer->hedge_pending = false;
}

void CurlEngine::Loop::FireHedges(absl::Time now) {
  while (!hedges_.empty() && hedges_.begin()->first <= now) {
    Transfer* primary = hedges_.begin()->second;
    hedges_.erase(hedges_.begin());
    primary->hedge_pending = false;
    if (primary->easy == nullptr || primary->twin != nullptr) continue;
    if (inflight_ >= options_.max_inflight || primary->host->inflight >= options_.max_per_host ||
        !primary->host->budget.TryRetry(now)) {
      continue;  // no room, or the budget is spent: let the primary run alone
    }
    auto* hedge = new Transfer();
    hedge->loop = this;
    hedge->group = primary->group;
    hedge->tag = primary->tag;
    hedge->request = primary->request;
    hedge->host = primary->host;
    hedge->is_hedge = true;
    hedge->started = now;
    absl::Duration left = primary->group->options.deadline - now;
    absl::Duration timeout = std::min(primary->request.timeout, left);
    long timeout_ms = std::max<long>(1, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
    CURL* easy = TakeEasy();
    if (easy == nullptr || Launch(hedge, easy, timeout_ms) != CURLM_OK) {
      if (easy != nullptr) ReleaseEasy(easy);
      delete hedge;
      continue;
    }
    primary->twin = hedge;
    hedge->twin = primary;
    ++hedge->host->inflight;
    ++inflight_;
    PublishInflight();
    stats_->hedges.fetch_add(1, std::memory_order_relaxed);
  }
}

void CurlEngine::Loop::DropTwin(Transfer* primary) {
  Transfer* hedge = primary->twin;
  if (hedge == nullptr) return;
  primary->twin = nullptr;
  if (hedge->easy != nullptr) {
    curl_multi_remove_handle(multi_, hedge->easy);
    ReleaseEasy(hedge->easy);
    hedge->easy = nullptr;
    --hedge->host->inflight;
    --inflight_;
    PublishInflight();
  }
  delete hedge;
}

void CurlEngine::Loop::RecordLatency(HostState& host, absl::Duration latency) {
  constexpr size_t kSamples = 512;
  if (host.latencies.size() < kSamples) {
    host.latencies.push_back(latency);
  } else {
    host.latencies[host.next_latency] = latency;
    host.next_latency = (host.next_latency + 1) % kSamples;
  }
  ++host.latency_count;
}

absl::Duration CurlEngine::Loop::LatencyP95(HostState& host) {
  // Computed when a hedge asks for it, again after every 32 new samples.
  if (host.latencies.empty()) return absl::InfiniteDuration();
  if (host.p95 == absl::InfiniteDuration() || host.latency_count - host.p95_count >= 32) {
    std::vector<absl::Duration> sorted = host.latencies;
    size_t k = sorted.size() * 95 / 100;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
    host.p95 = sorted[k];
    host.p95_count = host.latency_count;
  }
  return host.p95;
}

void CurlEngine::Loop::DrainCompletions() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    CURLcode code = message->data.result;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&transfer));
    curl_multi_remove_handle(multi_, easy);
    FinishTransfer(transfer, code);
  }
}

void CurlEngine::Loop::FinishTransfer(Transfer* finished, CURLcode code) {
  absl::Time now = absl::Now();
  Transfer* transfer = finished;  // the job's own transfer (the primary)
  if (finished->is_hedge) {
    // The hedge answered first: the job takes its answer; the primary is stopped.
    transfer = finished->twin;
    transfer->twin = nullptr;
    finished->twin = nullptr;
    stats_->hedges_won.fetch_add(1, std::memory_order_relaxed);
    if (transfer->easy != nullptr) curl_multi_remove_handle(multi_, transfer->easy);
    std::swap(transfer->body, finished->body);
    std::swap(transfer->easy, finished->easy);  // read the answer's details from the hedge's handle
    transfer->too_large = finished->too_large;
    transfer->blocked = finished->blocked;
    transfer->blocked_reason = finished->blocked_reason;
    transfer->retry_after = finished->retry_after;
    std::memcpy(transfer->error_buffer, finished->error_buffer, sizeof(transfer->error_buffer));
    ++transfer->attempts;
    // `finished` now holds the primary's handle (stopped above): release it and the hedge.
    if (finished->easy != nullptr) ReleaseEasy(finished->easy);
    finished->easy = nullptr;
    --finished->host->inflight;
    --inflight_;
    PublishInflight();
    delete finished;
  } else if (transfer->twin != nullptr) {
    ++transfer->attempts;  // the hedge was made, though it lost
    DropTwin(transfer);
  }
  CancelHedgeTimer(transfer);
  FetchResult result;
  result.queue_wait = transfer->waited;
  result.latency = now - transfer->started;  // from the job's first transfer of this attempt
  result.attempts = transfer->attempts;
  long http = 0;
  curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &http);
  result.http_status = static_cast<int>(http);
  auto curl_error = [&] {
    return transfer->error_buffer[0] != '\0' ? std::string(transfer->error_buffer)
                                             : std::string(curl_easy_strerror(code));
  };
  if (code == CURLE_OK) {
    result.outcome = FetchOutcome::kResponse;
    result.body = std::move(transfer->body);
  } else if (transfer->blocked) {
    result.outcome = FetchOutcome::kBlocked;
    result.error = transfer->blocked_reason;
  } else if (transfer->too_large || code == CURLE_FILESIZE_EXCEEDED) {
    result.outcome = FetchOutcome::kTooLarge;
    result.error = transfer->too_large && code != CURLE_FILESIZE_EXCEEDED
                       ? absl::StrCat("response over ", transfer->request.max_body_bytes,
                                      " bytes (body or headers)")
                       : absl::StrCat("body over ", transfer->request.max_body_bytes, " bytes");
  } else {
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        result.outcome = FetchOutcome::kTimeout;
        result.error = transfer->deadline_bound
                           ? "the RPC deadline was reached during the transfer"
                           : absl::StrCat("timed out after ",
                                          absl::FormatDuration(transfer->request.timeout));
        break;
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        result.outcome = FetchOutcome::kDnsError;
        result.error = curl_error();
        break;
      case CURLE_COULDNT_CONNECT:
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
      case CURLE_WEIRD_SERVER_REPLY:
        result.outcome = FetchOutcome::kConnectError;
        result.error = curl_error();
        break;
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_CRL_BADFILE:
      case CURLE_SSL_SHUTDOWN_FAILED:
      case CURLE_USE_SSL_FAILED:
        result.outcome = FetchOutcome::kTlsError;
        result.error = curl_error();
        break;
      case CURLE_UNSUPPORTED_PROTOCOL:
        if (absl::StrContains(transfer->error_buffer, "HTTP/0.9")) {
          // Not an HTTP answer at all (libcurl refuses HTTP/0.9).
          result.outcome = FetchOutcome::kConnectError;
          result.error = absl::StrCat("the upstream did not answer with HTTP (", curl_error(), ")");
        } else {
          result.outcome = FetchOutcome::kRedirectError;  // a redirect to a scheme not allowed
          result.error = curl_error();
        }
        break;
      case CURLE_TOO_MANY_REDIRECTS:
        result.outcome = FetchOutcome::kRedirectError;
        result.error = curl_error();
        break;
      case CURLE_OUT_OF_MEMORY:
        // libcurl 7.88 reports a response header line over its own limit (100 KB) this way.
        result.outcome = FetchOutcome::kTooLarge;
        result.error = absl::StrCat("response headers too large (", curl_error(), ")");
        break;
      case CURLE_BAD_CONTENT_ENCODING:
        result.outcome = FetchOutcome::kBadContent;
        result.error = curl_error();
        break;
      default:
        result.outcome = FetchOutcome::kError;
        result.error = curl_error();
        break;
    }
  }
  if (result.outcome == FetchOutcome::kResponse) RecordLatency(*transfer->host, result.latency);
  if (HostState* host = transfer->host; host->adaptive) {
    bool throttled = result.outcome == FetchOutcome::kResponse &&
                     (result.http_status == 429 || result.http_status == 503);
    if (host->adaptive->OnAnswer(now, throttled, result.latency)) UpdateBucket(*host, now);
  }
  if (ScheduleRetry(transfer, result, now)) return;
  Complete(transfer, result);
}

void CurlEngine::Loop::Complete(Transfer* transfer, FetchResult& result) {
  std::unique_ptr<Transfer> owned(transfer);
  Group* group = transfer->group;
  if (transfer->easy != nullptr) {
    if (group->inflight.erase(transfer) > 0) {
      --inflight_;
      PublishInflight();
    }
    --transfer->host->inflight;
    ReleaseEasy(transfer->easy);
    transfer->easy = nullptr;
  }
  stats_->completed.fetch_add(1, std::memory_order_relaxed);
  if (result.attempts == 0 && !result.shared) result.attempts = transfer->attempts;
  if (!transfer->coalesce_key.empty()) ShareResult(transfer, result);
  group->sink->OnFetchDone(transfer->tag, result);
}

bool CurlEngine::Loop::Coalesce(std::unique_ptr<Transfer>& transfer, absl::Time now) {
  const FetchRequest& request = transfer->request;
  std::string key = absl::StrCat(request.head ? "HEAD " : "GET ", request.max_body_bytes,
                                 request.no_redirects ? " N " : " ", request.url, "\n",
                                 request.headers ? request.headers->signature() : "");
  // A recent answer to the same request.
  while (!recent_order_.empty() && recent_order_.front().first <= now) {
    auto it = recent_.find(recent_order_.front().second);
    if (it != recent_.end() && it->second.expires <= now) EraseRecent(std::string(it->first));
    recent_order_.pop_front();
  }
  if (auto it = recent_.find(key); it != recent_.end()) {
    FetchResult result = it->second.result;
    result.shared = true;
    result.attempts = 0;
    result.queue_wait = now - transfer->waiting_since;
    stats_->coalesced.fetch_add(1, std::memory_order_relaxed);
    Complete(transfer.release(), result);
    return true;
  }
  // The same request is being fetched: wait for its answer.
  if (auto it = leaders_.find(key); it != leaders_.end()) {
    Transfer* follower = transfer.release();
    follower->leader = it->second;
    it->second->followers.push_back(follower);
    follower->group->followers.insert(follower);
    return true;
  }
  transfer->coalesce_key = std::move(key);
  leaders_[transfer->coalesce_key] = transfer.get();
  return false;
}

void CurlEngine::Loop::ShareResult(Transfer* leader, const FetchResult& result) {
  auto it = leaders_.find(leader->coalesce_key);
  if (it != leaders_.end() && it->second == leader) leaders_.erase(it);
  std::vector<Transfer*> followers = std::move(leader->followers);
  leader->followers.clear();
  absl::Time now = absl::Now();
  // An answer cut short by the leader's own call (cancelled, or its deadline) is not the
  // followers' answer: the first of them fetches again for the others.
  bool own_end = result.outcome == FetchOutcome::kCancelled ||
                 (result.outcome == FetchOutcome::kTimeout && leader->group->options.deadline <= now);
  if (own_end) {
    if (followers.empty()) return;
    Transfer* next = followers.front();
    next->group->followers.erase(next);
    next->leader = nullptr;
    next->coalesce_key = leader->coalesce_key;
    leaders_[next->coalesce_key] = next;
    for (size_t i = 1; i < followers.size(); ++i) {
      followers[i]->leader = next;
      next->followers.push_back(followers[i]);
    }
    Group* group = next->group;
    if (group->queue.empty()) ready_.push_back(group);
    group->queue.push_back(std::unique_ptr<Transfer>(next));
    ++queued_;
    return;
  }
  if (result.outcome == FetchOutcome::kResponse && options_.coalesce_window > absl::ZeroDuration() &&
      result.body.size() <= options_.coalesce_max_bytes / 8 && options_.coalesce_max_entries > 0) {
    // Keep the most recent answers: the oldest make room.
    while (!recent_order_.empty() && (recent_.size() >= options_.coalesce_max_entries ||
                                      recent_bytes_ + result.body.size() > options_.coalesce_max_bytes)) {
      auto& [when, key] = recent_order_.front();
      if (auto it = recent_.find(key); it != recent_.end() && it->second.expires == when) {
        EraseRecent(key);
      }
      recent_order_.pop_front();
    }
    absl::Time expires = now + options_.coalesce_window;
    EraseRecent(leader->coalesce_key);
    recent_bytes_ += result.body.size();
    RecentAnswer& recent = recent_[leader->coalesce_key];
    recent.expires = expires;
    recent.result.outcome = result.outcome;
    recent.result.http_status = result.http_status;
    recent.result.body = result.body;
    recent.result.latency = result.latency;
    recent_order_.emplace_back(expires, std::move(leader->coalesce_key));  // the leader is done
  }
  for (Transfer* follower : followers) {
    follower->group->followers.erase(follower);
    follower->leader = nullptr;
    FetchResult copy = result;
    copy.shared = true;
    copy.attempts = 0;
    copy.queue_wait = now - follower->waiting_since;
    stats_->coalesced.fetch_add(1, std::memory_order_relaxed);
    Complete(follower, copy);
  }
}

void CurlEngine::Loop::DetachFollower(Transfer* follower) {
  follower->group->followers.erase(follower);
  if (follower->leader != nullptr) std::erase(follower->leader->followers, follower);
  follower->leader = nullptr;
}

void CurlEngine::Loop::ExpireFollowers(absl::Time now) {
  if (leaders_.empty()) return;
  for (auto& [id, group] : groups_) {
    if (group->followers.empty() || group->options.deadline > now) continue;
    std::vector<Transfer*> followers(group->followers.begin(), group->followers.end());
    for (Transfer* follower : followers) {
      DetachFollower(follower);
      FetchResult result = EndedWaiting(follower, FetchOutcome::kTimeout,
                                        "the RPC deadline was reached while the job waited for an "
                                        "identical request's answer", now);
      Complete(follower, result);
    }
  }
}

CURL* CurlEngine::Loop::TakeEasy() {
  if (!free_easy_.empty()) {
    CURL* easy = free_easy_.back();
    free_easy_.pop_back();
    return easy;
  }
  // A new handle gets the options every transfer shares, once: handles are reused without
  // curl_easy_reset, which would free and copy these strings again for every request.
  CURL* easy = curl_easy_init();
  if (easy == nullptr) return nullptr;
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Loop::OnWrite);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Loop::OnHeader);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Loop::OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
  // Compressed answers are asked for with gzip only (the shortest header libcurl builds per
  // request); any encoding libcurl knows is still decoded, within max_body_bytes.
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_PROXY, "");  // no proxy from the environment
  curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  if (options_.follow_redirects > 0) {
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, static_cast<long>(options_.follow_redirects));
  }
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (resolve_ != nullptr) curl_easy_setopt(easy, CURLOPT_RESOLVE, resolve_);
  return easy;
}

void CurlEngine::Loop::ReleaseEasy(CURL* easy) {
  // Pointers into the finished job go; the next Launch sets every per-transfer option again.
  curl_easy_setopt(easy, CURLOPT_PRIVATE, nullptr);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  if (static_cast<int>(free_easy_.size()) < options_.max_inflight) {
    free_easy_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

size_t CurlEngine::Loop::OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  std::string& body = transfer->body;
  if (body.size() + length > transfer->request.max_body_bytes) {
    transfer->too_large = true;
    return 0;  // CURLE_WRITE_ERROR; reported as kTooLarge
  }
  if (body.capacity() < body.size() + length + kBodyPadding) {
    body.reserve(std::max(body.capacity() * 2, body.size() + length + kBodyPadding));
  }
  body.append(data, length);
  return length;
}

size_t CurlEngine::Loop::OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  absl::string_view line(data, length);
  if (absl::StartsWith(line, "HTTP/")) {
    transfer->retry_after.clear();  // a new response (after a redirect or a 100 Continue)
    transfer->header_lines = 0;
  } else if (line.size() > 12 && absl::EqualsIgnoreCase(line.substr(0, 12), "retry-after:")) {
    transfer->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  long total = 0;
  curl_easy_getinfo(transfer->easy, CURLINFO_HEADER_SIZE, &total);
  if (total + static_cast<long>(length) > kMaxHeaderBytes ||
      ++transfer->header_lines > kMaxHeaderLines) {
    transfer->too_large = true;
    return 0;
  }
  return length;
}

curl_socket_t CurlEngine::Loop::OnOpenSocket(void* user, curlsocktype /*purpose*/,
                                             curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  // The host being connected to now (after a redirect, the new one).
  const char* url = nullptr;
  curl_easy_getinfo(transfer->easy, CURLINFO_EFFECTIVE_URL, &url);
  std::string host = url != nullptr ? extract::HostOf(url) : transfer->request.host;
  policy::EgressDecision decision = transfer->loop->options_.egress.Check(&address->addr, host);
  if (!decision.allowed) {
    transfer->blocked = true;
    transfer->blocked_reason = std::move(decision.reason);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<CurlEngine>> CurlEngine::Create(EngineOptions options) {
  std::call_once(global_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  int count = std::clamp(options.loops, 1, std::max(1, std::min(options.max_inflight,
                                                                options.max_per_host)));
  std::vector<std::unique_ptr<Loop>> loops;
  for (int i = 0; i < count; ++i) {
    // Loop i gets its share of every engine-wide cap; the shares add up to the whole.
    auto share = [&](int64_t total) {
      return std::max<int64_t>(1, total / count + (i < total % count ? 1 : 0));
    };
    EngineOptions mine = options;
    mine.max_inflight = static_cast<int>(share(options.max_inflight));
    mine.max_per_host = static_cast<int>(share(options.max_per_host));
    CURLM* multi = curl_multi_init();
    if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(mine.max_inflight));
    loops.push_back(std::make_unique<Loop>(std::move(mine), multi, nullptr));
  }
  return std::unique_ptr<CurlEngine>(new CurlEngine(std::move(loops), options.host_rates));
}

CurlEngine::CurlEngine(std::vector<std::unique_ptr<Loop>> loops,
                       std::vector<policy::HostRate> host_rates)
    : loops_(std::move(loops)), host_rates_(std::move(host_rates)) {
  for (size_t i = 0; i < loops_.size(); ++i) {
    Loop* loop = loops_[i].get();
    loop->set_stats(&stats_);
    threads_.emplace_back([loop] { loop->Run(); });
    // For top -H, perf and metrics ("gather-engine" with one loop, as before).
    std::string name = loops_.size() == 1 ? "gather-engine" : absl::StrCat("gather-engine-", i);
    pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
  }
}

CurlEngine::~CurlEngine() { Stop(); }

void CurlEngine::Stop() {
  std::call_once(stop_once_, [this] {
    for (auto& loop : loops_) loop->Post(Loop::Command(Loop::Command::Kind::kStop));
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    // Loops stop one by one: a job a sink submitted to a loop that had already stopped is
    // cancelled here, until no cancellation brings another.
    for (bool more = true; more;) {
      more = false;
      for (auto& loop : loops_) more = loop->CancelLeftovers() || more;
    }
  });
}

GroupId CurlEngine::OpenGroup(FetchSink* sink, const GroupOptions& options) {
  GroupId id = next_group_.fetch_add(1, std::memory_order_relaxed);
  const int count = static_cast<int>(loops_.size());
  Route route;
  route.limited = options.rate > 0 || options.rate_auto;
  int concurrency = std::max(1, options.max_concurrency);
  route.spread = route.limited ? 1 : std::min(count, concurrency);
  // Groups narrower than the engine start at different loops, so small calls share the CPUs.
  route.offset = route.spread < count ? static_cast<int>(id % static_cast<GroupId>(count)) : 0;
  {
    std::lock_guard<std::mutex> lock(route_mu_);
    routes_[id] = route;
  }
  for (int i = 0; i < count; ++i) {
    Loop::Command command(Loop::Command::Kind::kOpen);
    command.group = id;
    command.sink = sink;
    command.options = options;
    if (!route.limited) {
      // Its share of the group's concurrency on its `spread` loops from `offset` on. Loop 0 also
      // takes the group's jobs to limited hosts; a loop the group does not use keeps a cap of 1.
      int spread = route.spread;
      int j = (i - route.offset + count) % count;
      command.options.max_concurrency =
          j < spread ? concurrency / spread + (j < concurrency % spread ? 1 : 0) : 1;
    }
    loops_[static_cast<size_t>(i)]->Post(std::move(command));
  }
  return id;
}

size_t CurlEngine::RouteLocked(Route& route, const FetchRequest& request, bool server_limited) {
  if (loops_.size() == 1) return 0;
  if (route.limited) {
    if (route.hosts.insert(request.host).second) ++limited_hosts_[request.host];
    return 0;
  }
  if (server_limited) return 0;
  if (!limited_hosts_.empty() && limited_hosts_.contains(request.host)) return 0;
  // Identical requests must meet in one loop to coalesce; the rest are dealt out in turn.
  size_t spread = static_cast<size_t>(route.spread);
  size_t j = !request.coalesce ? route.next++ % spread : absl::HashOf(request.url) % spread;
  return (static_cast<size_t>(route.offset) + j) % loops_.size();
}

void CurlEngine::Submit(GroupId group, uint64_t tag, FetchRequest request) {
  std::vector<std::pair<uint64_t, FetchRequest>> batch;
  batch.emplace_back(tag, std::move(request));
  SubmitBatch(group, std::move(batch));
}

void CurlEngine::SubmitBatch(GroupId group, std::vector<std::pair<uint64_t, FetchRequest>> batch) {
  std::vector<std::vector<Loop::Command>> commands(loops_.size());
  absl::Time now = absl::Now();
  // What routing needs to know about each host, found before taking the lock.
  std::vector<bool> server_limited(batch.size());
  if (loops_.size() > 1) {
    const std::string* last = nullptr;
    for (size_t i = 0; i < batch.size(); ++i) {
      FetchRequest& request = batch[i].second;
      if (request.host.empty()) request.host = extract::HostOf(request.url);
      if (host_rates_.empty()) continue;
      server_limited[i] = last != nullptr && *last == request.host
                              ? bool(server_limited[i - 1])
                              : policy::MatchHostRate(host_rates_, request.host).has_value();
      last = &request.host;
    }
  }
  {
    std::lock_guard<std::mutex> lock(route_mu_);
    auto it = routes_.find(group);
    for (size_t i = 0; i < batch.size(); ++i) {
      auto& [tag, request] = batch[i];
      // A closed or unknown group: loop 0 drops the jobs, as one loop did.
      size_t loop = it != routes_.end() ? RouteLocked(it->second, request, server_limited[i]) : 0;
      Loop::Command command(Loop::Command::Kind::kSubmit);
      command.group = group;
      command.tag = tag;
      command.request = std::move(request);
      command.submitted = now;
      commands[loop].push_back(std::move(command));
    }
  }
  for (size_t i = 0; i < loops_.size(); ++i) {
    if (!commands[i].empty()) loops_[i]->PostMany(std::move(commands[i]));
  }
}

void CurlEngine::CancelGroup(GroupId group, FetchOutcome outcome) {
  for (auto& loop : loops_) {
    Loop::Command command(Loop::Command::Kind::kCancel);
    command.group = group;
    command.outcome = outcome;
    loop->Post(std::move(command));
  }
}

double CurlEngine::HostRate(const std::string& host) const {
  double rate = 0;
  for (const auto& loop : loops_) rate = std::max(rate, loop->PublishedRate(host));
  return rate;
}

std::vector<std::pair<std::string, double>> CurlEngine::HostRates() const {
  if (loops_.size() == 1) return loops_[0]->PublishedRates();
  absl::flat_hash_map<std::string, double> merged;
  for (const auto& loop : loops_) {
    for (auto& [host, rate] : loop->PublishedRates()) {
      double& slot = merged[host];
      slot = std::max(slot, rate);
    }
  }
  return {merged.begin(), merged.end()};
}

void CurlEngine::CloseGroup(GroupId group) {
  {
    std::lock_guard<std::mutex> lock(route_mu_);
    if (auto it = routes_.find(group); it != routes_.end()) {
      for (const std::string& host : it->second.hosts) {
        if (auto h = limited_hosts_.find(host); h != limited_hosts_.end() && --h->second == 0) {
          limited_hosts_.erase(h);
        }
      }
      routes_.erase(it);
    }
  }
  for (auto& loop : loops_) {
    Loop::Command command(Loop::Command::Kind::kClose);
    command.group = group;
    loop->Post(std::move(command));
  }
}

}  // namespace gather::fetch
