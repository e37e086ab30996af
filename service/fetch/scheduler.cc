#include "service/fetch/scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace gather::fetch {

HostState::HostState(std::string host_name, const SchedulerOptions& options, absl::Time now)
    : name(std::move(host_name)),
      budget(options.retry_budget_ratio, options.retry_budget_min_per_second,
             std::max(10.0, options.retry_budget_min_per_second * 10), now) {}

Scheduler::Scheduler(SchedulerOptions options, EngineStats* stats)
    : options_(std::move(options)), stats_(stats) {}

GroupState& Scheduler::OpenGroup(GroupId id, FetchSink* sink, GroupOptions options) {
  auto group = std::make_unique<GroupState>();
  group->id = id;
  group->sink = sink;
  group->options = options;
  group->options.max_concurrency = std::max(1, options.max_concurrency);
  GroupState& ref = *group;
  groups_[id] = std::move(group);
  return ref;
}

GroupState* Scheduler::FindGroup(GroupId id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Scheduler::CloseGroup(GroupState& group, absl::Time now) {
  std::vector<std::string> released;
  if (group.ready) std::erase(ready_, &group);
  for (HostState* host : group.hosts) {
    bool changed = host->group_rates.erase(group.id) > 0;
    if (group.options.rate_auto && --host->auto_groups == 0) {
      host->adaptive.reset();
      adaptive_hosts_.erase(host);
      changed = true;
    }
    if (changed) UpdateBucket(*host, now);
    --host->groups;
    std::string name = host->name;
    if (ReleaseHost(*host)) released.push_back(std::move(name));
  }
  groups_.erase(group.id);
  return released;
}

void Scheduler::Attach(Job& job, GroupState& group, absl::Time now) {
  job.group = &group;
  HostState& host = HostFor(job.request.host, now);
  job.host = &host;
  if (!group.hosts.insert(&host).second) return;
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

void Scheduler::Enqueue(std::unique_ptr<Job> job, bool front) {
  GroupState& group = *job->group;
  if (front) {
    group.queue.push_front(std::move(job));
  } else {
    group.queue.push_back(std::move(job));
  }
  ++queued_;
  MakeReady(group);
}

void Scheduler::MakeReady(GroupState& group) {
  if (group.ready) return;
  group.ready = true;
  ready_.push_back(&group);
}

bool Scheduler::LeaseAllows(HostState& host, absl::Time now) {
  absl::Time wake = absl::InfiniteFuture();
  bool ask = false;
  HostLease::Gate gate = host.lease->Check(now, &wake, &ask);
  if (gate == HostLease::Gate::kOpen) return true;
  if (ask && options_.rate_store != nullptr) {
    const double rate = host.server_rate ? host.server_rate->rate : 0;
    const double burst = !host.server_rate                 ? 0
                         : host.server_rate->burst > 0 ? host.server_rate->burst
                                                       : policy::TokenBucket::DefaultBurst(rate);
    ratestore::LeaseRequest request = host.lease->Request(host.name, rate, burst);
    options_.rate_store->Lease(
        std::move(request), [post = options_.post_lease, name = host.name](
                                const ratestore::LeaseReply& reply) { post(name, reply); });
  }
  next_token_ = std::min(next_token_, wake);
  host.limited = true;
  return false;
}

bool Scheduler::TakeSlot(GroupState& group, HostState& host, absl::Time now) {
  if (group.inflight >= group.options.max_concurrency) return false;
  if (host.inflight >= options_.max_per_host) return false;
  if (host.lease && !LeaseAllows(host, now)) return false;
  if (host.bucket && !host.bucket->TryTake(now)) {
    next_token_ = std::min(next_token_, host.bucket->NextAvailable(now));
    host.limited = true;
    stats_->rate_waits.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (host.lease) host.lease->Spend();
  ++group.inflight;
  ++host.inflight;
  ++inflight_;
  return true;
}

Scheduler::Admission Scheduler::Next(absl::Time now) {
  // Round-robin over ready groups: one transfer per group per call. Within a group a due hedge
  // goes before the queue (it is late already), and the queue's head before the rest.
  Admission admission;
  next_token_ = absl::InfiniteFuture();
  if (inflight_ >= options_.max_inflight) return admission;
  for (size_t n = ready_.size(); n > 0; --n) {
    if (cursor_ >= ready_.size()) cursor_ = 0;
    GroupState& group = *ready_[cursor_];
    while (!group.hedges_wanted.empty()) {
      Job* running = group.hedges_wanted.front();
      if (!TakeSlot(group, *running->host, now)) break;
      group.hedges_wanted.pop_front();
      // A hedge is an extra request: it spends the host's retry budget like a retry.
      if (!running->host->budget.TryRetry(now)) {
        EndTransfer(*running);
        continue;
      }
      admission.hedge_of = running;
      break;
    }
    if (admission.hedge_of == nullptr && RefuseSpentQuota(group, now, admission)) {
      return admission;  // the group stays ready: its next job is looked at on the next call
    }
    if (admission.hedge_of == nullptr && !group.queue.empty() &&
        TakeSlot(group, *group.queue.front()->host, now)) {
      admission.job = std::move(group.queue.front());
      group.queue.pop_front();
      --queued_;
      if (admission.job->attempts == 0) admission.job->host->budget.OnRequest(now);
    }
    bool admitted = admission.hedge_of != nullptr || admission.job != nullptr;
    if (group.queue.empty() && group.hedges_wanted.empty()) {
      group.ready = false;
      ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(cursor_));
    } else {
      ++cursor_;
    }
    if (admitted) return admission;
  }
  return admission;
}

bool Scheduler::RefuseSpentQuota(GroupState& group, absl::Time now, Admission& admission) {
  if (group.queue.empty()) return false;
  HostState& host = *group.queue.front()->host;
  if (!host.lease || !host.lease->has_quota()) return false;
  absl::Time wake;
  bool ask = false;
  // Only a spent quota is acted on here; waiting for tokens is TakeSlot's.
  if (host.lease->Check(now, &wake, &ask) != HostLease::Gate::kQuotaSpent) return false;
  admission.refused = std::move(group.queue.front());
  group.queue.pop_front();
  --queued_;
  admission.refusal.outcome = FetchOutcome::kQuotaSpent;
  admission.refusal.error =
      absl::StrCat("quota spent until ",
                   absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", host.lease->quota_reset(),
                                    absl::UTCTimeZone()),
                   " (no request was sent)");
  admission.refusal.queue_wait = admission.refused->waited + (now - admission.refused->waiting_since);
  admission.refusal.attempts = admission.refused->attempts;
  if (group.queue.empty() && group.hedges_wanted.empty() && group.ready) {
    group.ready = false;
    std::erase(ready_, &group);
  }
  return true;
}

void Scheduler::OnLease(const std::string& name, const ratestore::LeaseReply& reply,
                        absl::Time now) {
  auto it = hosts_.find(name);
  if (it == hosts_.end() || !it->second.lease) return;  // the host was released meanwhile
  it->second.lease->OnReply(reply, now);
  if (it->second.lease->has_quota()) {
    std::lock_guard<std::mutex> lock(published_mu_);
    published_quota_[name] = it->second.lease->quota_left();
  }
}

int64_t Scheduler::PublishedQuotaLeft(const std::string& host) const {
  std::lock_guard<std::mutex> lock(published_mu_);
  auto it = published_quota_.find(host);
  return it == published_quota_.end() ? -1 : it->second;
}

std::vector<std::pair<std::string, int64_t>> Scheduler::PublishedQuotasLeft() const {
  std::lock_guard<std::mutex> lock(published_mu_);
  return {published_quota_.begin(), published_quota_.end()};
}

void Scheduler::EndTransfer(const Job& job) {
  --job.group->inflight;
  --job.host->inflight;
  --inflight_;
}

void Scheduler::WantHedge(Job& running) {
  running.group->hedges_wanted.push_back(&running);
  MakeReady(*running.group);
}

void Scheduler::ForgetHedge(Job& running) {
  std::erase(running.group->hedges_wanted, &running);
}

Scheduler::RetryDecision Scheduler::DecideRetry(const Job& job, const FetchResult& result,
                                                absl::string_view retry_after, absl::Time now) {
  RetryDecision decision;
  if (!retry_after.empty() && job.host->lease && result.outcome == FetchOutcome::kResponse &&
      (result.http_status == 429 || result.http_status == 503)) {
    // The upstream asked to pause: every replica on the rate store pauses too.
    if (auto after = policy::ParseRetryAfter(retry_after, now); after && *after > absl::ZeroDuration()) {
      const absl::Time until = now + std::min(*after, options_.max_retry_after);
      job.host->lease->PauseUntil(until);
      if (options_.rate_store != nullptr) options_.rate_store->Cooldown(job.host->name, until);
    }
  }
  bool retryable = result.outcome == FetchOutcome::kConnectError ||
                   (result.outcome == FetchOutcome::kResponse &&
                    policy::IsRetryableHttpStatus(result.http_status));
  if (retryable && !IsIdempotent(job.request)) {
    // Repeat a POST or PATCH only where the server certainly did not act on it.
    retryable = (result.outcome == FetchOutcome::kConnectError && result.not_sent) ||
                (result.outcome == FetchOutcome::kResponse &&
                 (result.http_status == 429 ||
                  (result.http_status == 503 && !retry_after.empty())));
    if (!retryable && job.attempts < static_cast<uint32_t>(job.request.max_attempts)) {
      decision.note = absl::StrCat("not retried: a ", MethodName(job.request.method),
                                   " may have been processed (say it is idempotent to retry it)");
      return decision;
    }
  }
  if (!retryable || job.attempts >= static_cast<uint32_t>(job.request.max_attempts)) {
    return decision;
  }
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  absl::Duration wait =
      policy::Backoff(static_cast<int>(job.attempts), options_.backoff, uniform(random_));
  if (!retry_after.empty()) {
    if (auto after = policy::ParseRetryAfter(retry_after, now); after) {
      if (*after > options_.max_retry_after) {
        decision.note = absl::StrCat("not retried: Retry-After ", absl::FormatDuration(*after),
                                     " is longer than the server's --max_retry_after");
        return decision;
      }
      wait = std::max(wait, *after);
    }
  }
  if (now + wait >= job.group->options.deadline) {
    decision.note = absl::StrCat("not retried: the next attempt (in ", absl::FormatDuration(wait),
                                 ") would start after the deadline");
    return decision;
  }
  // A retry the host's budget cannot afford now waits until the budget has earned it, unless
  // that is past the call's deadline (an online call fails at once, as it did before).
  absl::Duration budget_wait = job.host->budget.Reserve(now);
  if (budget_wait > wait && now + budget_wait >= job.group->options.deadline) {
    job.host->budget.Refund();
    decision.note = "not retried: the retry budget for this host is spent";
    if (budget_wait != absl::InfiniteDuration()) {
      absl::StrAppend(&decision.note, " (it allows this retry in ",
                      absl::FormatDuration(absl::Ceil(budget_wait, absl::Milliseconds(1))),
                      ", after the deadline)");
    }
    stats_->retries_denied.fetch_add(1, std::memory_order_relaxed);
    return decision;
  }
  if (budget_wait > wait) {
    decision.budget_wait = budget_wait - wait;
    wait = budget_wait;
    stats_->retries_waited.fetch_add(1, std::memory_order_relaxed);
  }
  stats_->retries.fetch_add(1, std::memory_order_relaxed);
  decision.retry = true;
  decision.wait = wait;
  return decision;
}

void Scheduler::Delay(std::unique_ptr<Job> job, absl::Time when) {
  delayed_.emplace(when, std::move(job));
}

void Scheduler::PromoteDueRetries(absl::Time now) {
  while (!delayed_.empty() && delayed_.begin()->first <= now) {
    std::unique_ptr<Job> job = std::move(delayed_.begin()->second);
    delayed_.erase(delayed_.begin());
    Enqueue(std::move(job), /*front=*/true);  // retries go first
  }
}

std::vector<std::unique_ptr<Job>> Scheduler::TakeWaiting(GroupState& group) {
  std::vector<std::unique_ptr<Job>> taken;
  for (auto& job : group.queue) taken.push_back(std::move(job));
  queued_ -= static_cast<int64_t>(group.queue.size());
  group.queue.clear();
  group.hedges_wanted.clear();
  if (group.ready) {
    std::erase(ready_, &group);
    group.ready = false;
  }
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second->group == &group) {
      taken.push_back(std::move(it->second));
      it = delayed_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

std::vector<std::unique_ptr<Job>> Scheduler::TakeAllWaiting() {
  std::vector<std::unique_ptr<Job>> taken;
  for (auto& [id, group] : groups_) {
    for (auto& job : TakeWaiting(*group)) taken.push_back(std::move(job));
  }
  return taken;
}

std::vector<std::unique_ptr<Job>> Scheduler::TakeExpired(absl::Time now) {
  std::vector<std::unique_ptr<Job>> expired;
  for (GroupState* group : ready_) {
    if (group->options.deadline > now || group->queue.empty()) continue;
    for (auto& job : group->queue) expired.push_back(std::move(job));
    queued_ -= static_cast<int64_t>(group->queue.size());
    group->queue.clear();
  }
  // Groups left with nothing to start leave the round-robin.
  std::erase_if(ready_, [](GroupState* group) {
    bool idle = group->queue.empty() && group->hedges_wanted.empty();
    if (idle) group->ready = false;
    return idle;
  });
  return expired;
}

void Scheduler::OnAnswer(HostState& host, bool throttled, absl::Duration latency,
                         absl::Time now) {
  if (host.adaptive && host.adaptive->OnAnswer(now, throttled, latency)) UpdateBucket(host, now);
}

void Scheduler::Tick(absl::Time now) {
  for (HostState* host : adaptive_hosts_) {
    if (host->adaptive->Tick(now, host->limited)) UpdateBucket(*host, now);
    host->limited = false;
  }
}

absl::Time Scheduler::NextWakeup() const {
  absl::Time next = next_token_;
  if (!delayed_.empty()) next = std::min(next, delayed_.begin()->first);
  for (const GroupState* group : ready_) {
    if (!group->queue.empty()) next = std::min(next, group->options.deadline);
  }
  return next;
}

HostState& Scheduler::HostFor(const std::string& name, absl::Time now) {
  auto it = hosts_.find(name);
  if (it != hosts_.end()) return it->second;
  HostState& host = hosts_.try_emplace(name, name, options_, now).first->second;
  host.server_rate = policy::MatchHostRate(options_.host_rates, name);
  if (options_.rate_store != nullptr) {
    // The server's rate for the host is the budget shared with the other gatherds; a call's own
    // rate stays the call's (the CLI already splits a run's rate among its shards).
    auto quota = ratestore::MatchHostQuota(options_.host_quotas, name);
    if (host.server_rate || quota) host.lease.emplace(std::move(quota));
  }
  UpdateBucket(host, now);
  return host;
}

void Scheduler::UpdateBucket(HostState& host, absl::Time now) {
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

bool Scheduler::ReleaseHost(HostState& host) {
  // A host's state lives while a group uses it or a transfer runs there; a new group starts with
  // a fresh bucket (holding only its small burst) and a fresh budget.
  if (host.groups != 0 || host.inflight != 0) return false;
  {
    std::lock_guard<std::mutex> lock(published_mu_);
    published_rates_.erase(host.name);
  }
  hosts_.erase(host.name);  // its quota left stays published (the metric keeps it)
  return true;
}

double Scheduler::PublishedRate(const std::string& host) const {
  std::lock_guard<std::mutex> lock(published_mu_);
  auto it = published_rates_.find(host);
  return it == published_rates_.end() ? 0 : it->second;
}

std::vector<std::pair<std::string, double>> Scheduler::PublishedRates() const {
  std::lock_guard<std::mutex> lock(published_mu_);
  return {published_rates_.begin(), published_rates_.end()};
}

}  // namespace gather::fetch
