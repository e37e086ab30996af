// Helpers for tests that drive the fetch engine directly: a sink that collects completions (and
// counts deliveries, to check exactly-once), and engine options that allow loopback upstreams.
#ifndef GATHER_TESTS_SUPPORT_ENGINE_HELPERS_H_
#define GATHER_TESTS_SUPPORT_ENGINE_HELPERS_H_

#include <condition_variable>
#include <map>
#include <mutex>

#include "absl/time/time.h"
#include "service/fetch/curl_engine.h"

namespace gather::testing {

// Collects completions; Wait() blocks on a condition variable until `n` have arrived.
class CollectingSink : public fetch::FetchSink {
 public:
  void OnFetchDone(uint64_t tag, fetch::FetchResult& result) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++deliveries_[tag];
    results_[tag] = std::move(result);
    cv_.notify_all();
  }
  bool Wait(size_t n, absl::Duration limit = absl::Seconds(60)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(limit), [&] { return results_.size() >= n; });
  }
  std::map<uint64_t, fetch::FetchResult> results() {
    std::lock_guard<std::mutex> lock(mu_);
    return results_;
  }
  // Every tag was delivered exactly once.
  bool ExactlyOnce() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [tag, count] : deliveries_) {
      if (count != 1) return false;
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, fetch::FetchResult> results_;
  std::map<uint64_t, int> deliveries_;
};

// Engine options whose egress policy allows 127.0.0.0/8 (every test upstream).
inline fetch::EngineOptions LoopbackOptions() {
  fetch::EngineOptions options;
  options.egress = policy::EgressPolicy(policy::ParseCidrList("127.0.0.0/8").value(), {});
  return options;
}

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_ENGINE_HELPERS_H_
