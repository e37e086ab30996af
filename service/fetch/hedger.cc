#include "service/fetch/hedger.h"

#include <algorithm>

namespace gather::fetch {

Hedger::HostLatency& Hedger::For(const std::string& host, absl::Time now) {
  return hosts_.try_emplace(host, now).first->second;
}

void Hedger::RecordLatency(const std::string& host, absl::Duration latency) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;  // no group hedges there
  HostLatency& h = it->second;
  if (h.samples.size() < kSamples) {
    h.samples.push_back(latency);
  } else {
    h.samples[h.next] = latency;
    h.next = (h.next + 1) % kSamples;
  }
  ++h.count;
}

void Hedger::OnFirstAttempt(const std::string& host, absl::Time now) {
  For(host, now).budget.OnRequest(now);
}

void Hedger::Arm(Job* job, const GroupOptions& options, absl::Time now) {
  Disarm(job);
  absl::Duration delay = options.hedge_after.value_or(absl::InfiniteDuration());
  bool automatic = false;
  if (options.hedge_auto) {
    HostLatency& h = For(job->request.host, now);
    if (h.samples.size() >= kMinSamples &&
        (h.delay == absl::InfiniteDuration() || h.count - h.computed_at >= kRecomputeEvery)) {
      std::vector<absl::Duration> sorted = h.samples;
      size_t k = static_cast<size_t>(static_cast<double>(sorted.size()) * (1 - kAutoQuantile));
      k = std::min(k, sorted.size() - 1);
      std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k),
                       sorted.end());
      // Never below a millisecond: a quantile of sub-millisecond answers would hedge noise.
      h.delay = std::max(sorted[k], absl::Milliseconds(1));
      h.computed_at = h.count;
    }
    if (h.delay < delay) {
      delay = h.delay;
      automatic = true;
    }
  }
  if (delay == absl::InfiniteDuration() || now + delay >= options.deadline) return;
  armed_[job] = timers_.emplace(now + delay, Timer{job, automatic});
}

void Hedger::Disarm(Job* job) {
  auto it = armed_.find(job);
  if (it == armed_.end()) return;
  timers_.erase(it->second);
  armed_.erase(it);
}

std::vector<Job*> Hedger::TakeDue(absl::Time now) {
  std::vector<Job*> due;
  while (!timers_.empty() && timers_.begin()->first <= now) {
    Timer timer = timers_.begin()->second;
    timers_.erase(timers_.begin());
    armed_.erase(timer.job);
    if (timer.automatic) {
      auto it = hosts_.find(timer.job->request.host);
      if (it == hosts_.end() || !it->second.budget.TryRetry(now)) continue;
    }
    due.push_back(timer.job);
  }
  return due;
}

absl::Time Hedger::NextWakeup() const {
  return timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first;
}

void Hedger::ForgetHost(const std::string& host) { hosts_.erase(host); }

}  // namespace gather::fetch
