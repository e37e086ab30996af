#include "service/fetch/coalescer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "service/fetch/scheduler.h"

namespace gather::fetch {

std::string Coalescer::KeyOf(const FetchRequest& request) {
  return absl::StrCat(MethodName(request.method), " ", request.max_body_bytes, " ",
                      absl::ToInt64Microseconds(request.timeout), " ", request.max_attempts,
                      request.no_redirects ? " N " : " ", request.url, "\n",
                      request.headers ? request.headers->signature() : "", "\n",
                      request.body.size(), "\n", request.body);
}

Coalescer::Joined Coalescer::Join(std::unique_ptr<Job> job, absl::Time now) {
  Joined joined;
  std::string key = KeyOf(job->request);
  ExpireRecent(now);
  if (auto it = recent_.find(key); it != recent_.end()) {
    joined.answer = it->second.result;
    joined.answered = std::move(job);
    return joined;
  }
  if (auto it = leading_.find(key); it != leading_.end()) {
    Count(*job, 1);
    it->second.followers.push_back(std::move(job));
    return joined;
  }
  job->coalesce_key = key;
  leading_[key].leader = job.get();
  joined.lead = std::move(job);
  return joined;
}

Coalescer::Handoff Coalescer::Finish(Job& leader, const FetchResult& result,
                                     bool cut_by_its_call, absl::Time now) {
  Handoff handoff;
  std::string key = std::move(leader.coalesce_key);
  leader.coalesce_key.clear();
  auto it = leading_.find(key);
  if (it == leading_.end() || it->second.leader != &leader) return handoff;
  std::vector<std::unique_ptr<Job>> followers = std::move(it->second.followers);
  leading_.erase(it);
  for (const auto& follower : followers) Count(*follower, -1);
  if (cut_by_its_call) {
    if (followers.empty()) return handoff;
    handoff.next_leader = std::move(followers.front());
    handoff.next_leader->coalesce_key = key;
    Leading& next = leading_[key];
    next.leader = handoff.next_leader.get();
    for (size_t i = 1; i < followers.size(); ++i) {
      Count(*followers[i], 1);
      next.followers.push_back(std::move(followers[i]));
    }
    return handoff;
  }
  bool success = result.outcome == FetchOutcome::kResponse && result.http_status >= 200 &&
                 result.http_status < 300;
  if (success) Remember(key, result, now);
  handoff.followers = std::move(followers);
  return handoff;
}

void Coalescer::Remember(const std::string& key, const FetchResult& result, absl::Time now) {
  if (options_.window <= absl::ZeroDuration() || options_.max_entries == 0 ||
      result.body.size() > options_.max_bytes / 8) {
    return;
  }
  // Keep the most recent answers: the oldest make room.
  while (!recent_order_.empty() &&
         (recent_.size() >= options_.max_entries ||
          recent_bytes_ + result.body.size() > options_.max_bytes)) {
    auto& [when, oldest] = recent_order_.front();
    if (auto it = recent_.find(oldest); it != recent_.end() && it->second.expires == when) {
      EraseRecent(oldest);
    }
    recent_order_.pop_front();
  }
  absl::Time expires = now + options_.window;
  EraseRecent(key);
  recent_bytes_ += result.body.size();
  Recent& recent = recent_[key];
  recent.expires = expires;
  recent.result.outcome = result.outcome;
  recent.result.http_status = result.http_status;
  recent.result.body = result.body;
  recent.result.link = result.link;
  recent.result.final_url = result.final_url;
  recent.result.latency = result.latency;
  recent_order_.emplace_back(expires, key);
}

void Coalescer::EraseRecent(const std::string& key) {
  auto it = recent_.find(key);
  if (it == recent_.end()) return;
  recent_bytes_ -= it->second.result.body.size();
  recent_.erase(it);
}

void Coalescer::ExpireRecent(absl::Time now) {
  while (!recent_order_.empty() && recent_order_.front().first <= now) {
    auto it = recent_.find(recent_order_.front().second);
    if (it != recent_.end() && it->second.expires <= now) EraseRecent(recent_order_.front().second);
    recent_order_.pop_front();
  }
}

template <typename Pred>
std::vector<std::unique_ptr<Job>> Coalescer::TakeIf(Pred pred) {
  std::vector<std::unique_ptr<Job>> taken;
  if (followers_ == 0) return taken;
  for (auto& [key, leading] : leading_) {
    auto& list = leading.followers;
    for (auto& job : list) {
      if (!pred(*job)) continue;
      Count(*job, -1);
      taken.push_back(std::move(job));
    }
    std::erase(list, nullptr);
  }
  return taken;
}

std::vector<std::unique_ptr<Job>> Coalescer::TakeFollowers(const GroupState* group) {
  return TakeIf([group](const Job& job) { return job.group == group; });
}

std::vector<std::unique_ptr<Job>> Coalescer::TakeExpired(absl::Time now) {
  return TakeIf([now](const Job& job) { return job.group->options.deadline <= now; });
}

std::vector<std::unique_ptr<Job>> Coalescer::TakeAll() {
  return TakeIf([](const Job&) { return true; });
}

absl::Time Coalescer::NextWakeup() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [group, count] : follower_groups_) {
    next = std::min(next, group->options.deadline);
  }
  return next;
}

void Coalescer::Count(const Job& follower, int delta) {
  followers_ += delta;
  size_t& count = follower_groups_[follower.group];
  count += delta;
  if (count == 0) follower_groups_.erase(follower.group);
}

}  // namespace gather::fetch
