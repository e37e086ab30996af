#include "service/fetch/curl_engine.h"

#include <pthread.h>

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/url.h"

namespace gather::fetch {
namespace {

std::once_flag global_init_once;

}  // namespace

absl::StatusOr<std::unique_ptr<CurlEngine>> CurlEngine::Create(EngineOptions options) {
  std::call_once(global_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  int count = std::clamp(options.loops, 1, std::max(1, std::min(options.max_inflight,
                                                                options.max_per_host)));
  std::vector<std::pair<LoopOptions, MultiHandle>> loops;
  for (int i = 0; i < count; ++i) {
    // Loop i gets its share of every engine-wide cap; the shares add up to the whole.
    auto share = [&](int64_t total) {
      return static_cast<int>(std::max<int64_t>(1, total / count + (i < total % count ? 1 : 0)));
    };
    LoopOptions mine;
    mine.scheduler.max_inflight = share(options.max_inflight);
    mine.scheduler.max_per_host = share(options.max_per_host);
    mine.scheduler.host_rates = options.host_rates;
    mine.scheduler.backoff = options.backoff;
    mine.scheduler.retry_budget_ratio = options.retry_budget_ratio;
    mine.scheduler.retry_budget_min_per_second = options.retry_budget_min_per_second;
    mine.scheduler.max_retry_after = options.max_retry_after;
    mine.scheduler.rate_store = options.rate_store;
    mine.scheduler.host_quotas = options.host_quotas;
    mine.coalescer.window = options.coalesce_window;
    mine.coalescer.max_entries = options.coalesce_max_entries;
    mine.coalescer.max_bytes = options.coalesce_max_bytes;
    mine.follow_redirects = options.follow_redirects;
    mine.ca_file = options.ca_file;
    mine.egress = options.egress;
    mine.resolve = options.resolve;
    MultiHandle multi(curl_multi_init());
    if (!multi) return absl::InternalError("curl_multi_init failed");
    curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS,
                      static_cast<long>(mine.scheduler.max_inflight));
    loops.emplace_back(std::move(mine), std::move(multi));
  }
  // Hosts with a server rate or a quota stay on one loop: one bucket, one lease holder per host.
  std::vector<policy::HostRate> one_loop = options.host_rates;
  if (options.rate_store != nullptr) {
    for (const ratestore::HostQuota& quota : options.host_quotas) {
      one_loop.push_back(policy::HostRate{quota.pattern, 0, 0});
    }
  }
  return std::unique_ptr<CurlEngine>(new CurlEngine(std::move(loops), std::move(one_loop)));
}

CurlEngine::CurlEngine(std::vector<std::pair<LoopOptions, MultiHandle>> loops,
                       std::vector<policy::HostRate> host_rates)
    : host_rates_(std::move(host_rates)) {
  for (auto& [options, multi] : loops) {
    loops_.push_back(
        std::make_unique<CurlLoop>(std::move(options), std::move(multi), &stats_, &pending_));
  }
  for (size_t i = 0; i < loops_.size(); ++i) {
    CurlLoop* loop = loops_[i].get();
    threads_.emplace_back([loop] { loop->Run(); });
    // For top -H, perf and metrics.
    std::string name = loops_.size() == 1 ? "gather-engine" : absl::StrCat("gather-engine-", i);
    pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
  }
}

CurlEngine::~CurlEngine() {
  Stop();
  for (auto& loop : loops_) {
    std::vector<CurlLoop::Command> exit;
    exit.emplace_back(CurlLoop::Command::Kind::kExit);
    loop->Post(std::move(exit));
  }
  for (std::thread& thread : threads_) thread.join();
}

void CurlEngine::Stop() {
  std::call_once(stop_once_, [this] {
    for (auto& loop : loops_) {
      std::vector<CurlLoop::Command> stop;
      stop.emplace_back(CurlLoop::Command::Kind::kStop);
      loop->Post(std::move(stop));
    }
    // Every loop cancels what it holds; a sink answering a cancellation may submit more, to any
    // loop, which cancels it in turn. Quiet means every command posted has been carried out.
    pending_.WaitZero();
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
    CurlLoop::Command command(CurlLoop::Command::Kind::kOpen);
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
    std::vector<CurlLoop::Command> open;
    open.push_back(std::move(command));
    loops_[static_cast<size_t>(i)]->Post(std::move(open));
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
  std::vector<std::vector<CurlLoop::Command>> commands(loops_.size());
  absl::Time now = absl::Now();
  // What routing needs to know about each host, found before taking the lock.
  std::vector<bool> server_limited(batch.size());
  if (loops_.size() > 1) {
    const std::string* last = nullptr;
    for (size_t i = 0; i < batch.size(); ++i) {
      FetchRequest& request = batch[i].second;
      if (request.host.empty()) request.host = common::HostOf(request.url);
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
      // A closed or unknown group: loop 0 drops the jobs (a caller's contract violation).
      size_t loop = it != routes_.end() ? RouteLocked(it->second, request, server_limited[i]) : 0;
      CurlLoop::Command command(CurlLoop::Command::Kind::kSubmit);
      command.group = group;
      command.tag = tag;
      command.request = std::move(request);
      command.submitted = now;
      commands[loop].push_back(std::move(command));
    }
  }
  for (size_t i = 0; i < loops_.size(); ++i) {
    if (!commands[i].empty()) loops_[i]->Post(std::move(commands[i]));
  }
}

void CurlEngine::CancelGroup(GroupId group, FetchOutcome outcome) {
  for (auto& loop : loops_) {
    std::vector<CurlLoop::Command> cancel;
    cancel.emplace_back(CurlLoop::Command::Kind::kCancel);
    cancel.back().group = group;
    cancel.back().outcome = outcome;
    loop->Post(std::move(cancel));
  }
}

double CurlEngine::HostRate(const std::string& host) const {
  double rate = 0;
  for (const auto& loop : loops_) rate = std::max(rate, loop->PublishedRate(host));
  return rate;
}

int64_t CurlEngine::QuotaLeft(const std::string& host) const {
  int64_t left = -1;
  for (const auto& loop : loops_) {
    int64_t mine = loop->PublishedQuotaLeft(host);
    if (mine >= 0) left = left < 0 ? mine : std::min(left, mine);
  }
  return left;
}

std::vector<std::pair<std::string, int64_t>> CurlEngine::QuotasLeft() const {
  absl::flat_hash_map<std::string, int64_t> merged;
  for (const auto& loop : loops_) {
    for (const auto& [host, left] : loop->PublishedQuotasLeft()) {
      auto [it, added] = merged.try_emplace(host, left);
      if (!added) it->second = std::min(it->second, left);
    }
  }
  return {merged.begin(), merged.end()};
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
    std::vector<CurlLoop::Command> close;
    close.emplace_back(CurlLoop::Command::Kind::kClose);
    close.back().group = group;
    loop->Post(std::move(close));
  }
}

}  // namespace gather::fetch
