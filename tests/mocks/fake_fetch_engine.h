// A FetchEngine without curl or sockets, for reactor tests. Like the real engine it runs every
// command on its own thread, in the order the commands were made, and calls sinks only there.
// Jobs wait until the test answers them (Answer, AnswerAll) or a responder set with
// set_responder answers each as it arrives; CancelGroup ends the group's waiting jobs.
// Thread-safe: reactors call it on gRPC threads, tests on theirs.
#ifndef GATHER_TESTS_MOCKS_FAKE_FETCH_ENGINE_H_
#define GATHER_TESTS_MOCKS_FAKE_FETCH_ENGINE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "service/fetch/fetch_engine.h"

namespace gather::testing {

class FakeFetchEngine final : public fetch::FetchEngine {
 public:
  // Answers a request on the engine thread; set before any job arrives.
  using Responder = std::function<fetch::FetchResult(const fetch::FetchRequest&)>;
  // Runs on the caller's thread inside SubmitBatch/Submit, before the jobs are queued.
  using SubmitHook = std::function<void()>;

  FakeFetchEngine() : thread_([this] { Run(); }) {}
  ~FakeFetchEngine() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      exit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void set_responder(Responder responder) {
    std::lock_guard<std::mutex> lock(mu_);
    responder_ = std::move(responder);
  }
  void set_submit_hook(SubmitHook hook) {
    std::lock_guard<std::mutex> lock(mu_);
    submit_hook_ = std::move(hook);
  }

  fetch::GroupId OpenGroup(fetch::FetchSink* sink, const fetch::GroupOptions&) override {
    std::lock_guard<std::mutex> lock(mu_);
    fetch::GroupId id = ++next_group_;
    sinks_[id] = sink;
    ++opened_;
    return id;
  }
  void Submit(fetch::GroupId group, uint64_t tag, fetch::FetchRequest request) override {
    std::vector<std::pair<uint64_t, fetch::FetchRequest>> batch;
    batch.emplace_back(tag, std::move(request));
    SubmitBatch(group, std::move(batch));
  }
  void SubmitBatch(fetch::GroupId group,
                   std::vector<std::pair<uint64_t, fetch::FetchRequest>> batch) override {
    SubmitHook hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hook = submit_hook_;
    }
    if (hook) hook();
    Post([this, group, batch = std::move(batch)]() mutable {
      for (auto& [tag, request] : batch) {
        ++submitted_;
        if (responder_) {
          fetch::FetchResult result = responder_(request);
          Deliver(group, tag, result);
        } else {
          waiting_.push_back(Waiting{group, tag, std::move(request)});
        }
      }
    });
  }
  void CancelGroup(fetch::GroupId group, fetch::FetchOutcome outcome) override {
    Post([this, group, outcome] {
      ++cancels_;
      std::deque<Waiting> keep;
      std::vector<Waiting> ended;
      for (Waiting& job : waiting_) {
        if (job.group == group) {
          ended.push_back(std::move(job));
        } else {
          keep.push_back(std::move(job));
        }
      }
      waiting_ = std::move(keep);
      for (Waiting& job : ended) {
        fetch::FetchResult result;
        result.outcome = outcome;
        result.error = "cancelled";
        Deliver(job.group, job.tag, result);
      }
    });
  }
  void CloseGroup(fetch::GroupId group) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      sinks_.erase(group);
      ++closed_;
    }
    cv_.notify_all();
  }

  // Waits (up to `timeout`) until every group opened so far is closed: their calls ended, after
  // their last completion.
  bool WaitForAllClosed(absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [&] { return closed_ == opened_; });
  }

  // Answers every waiting job with `respond` (on the engine thread); returns how many.
  int AnswerAll(const Responder& respond) { return AnswerFirst(SIZE_MAX, respond); }
  // Answers the `n` jobs that have waited longest (or all, if fewer wait); returns how many.
  int AnswerFirst(size_t n, const Responder& respond) {
    std::mutex done_mu;
    std::condition_variable done_cv;
    bool done = false;
    int answered = 0;
    Post([&] {
      std::deque<Waiting> jobs;
      while (!waiting_.empty() && jobs.size() < n) {
        jobs.push_back(std::move(waiting_.front()));
        waiting_.pop_front();
      }
      for (Waiting& job : jobs) {
        fetch::FetchResult result = respond(job.request);
        Deliver(job.group, job.tag, result);
        ++answered;
      }
      std::lock_guard<std::mutex> lock(done_mu);
      done = true;
      done_cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(done_mu);
    done_cv.wait(lock, [&] { return done; });
    return answered;
  }

  // Waits (up to `timeout`) until at least `n` jobs wait for an answer.
  bool WaitForWaiting(size_t n, absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [&] { return waiting_.size() >= n; });
  }
  size_t waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_.size();
  }
  uint64_t submitted() {
    std::lock_guard<std::mutex> lock(mu_);
    return submitted_;
  }
  int groups_opened() {
    std::lock_guard<std::mutex> lock(mu_);
    return opened_;
  }
  int groups_closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  struct Waiting {
    fetch::GroupId group;
    uint64_t tag;
    fetch::FetchRequest request;
  };

  void Post(std::function<void()> command) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      commands_.push_back(std::move(command));
    }
    cv_.notify_all();
  }
  // Engine thread; called with mu_ held, releases it around the sink call.
  void Deliver(fetch::GroupId group, uint64_t tag, fetch::FetchResult& result) {
    fetch::FetchSink* sink = sinks_.at(group);
    mu_.unlock();
    sink->OnFetchDone(tag, result);
    mu_.lock();
  }
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return exit_ || !commands_.empty(); });
      if (commands_.empty()) return;  // exit_ and nothing left
      std::function<void()> command = std::move(commands_.front());
      commands_.pop_front();
      command();  // runs with mu_ held (Deliver drops it around sink calls)
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> commands_;
  std::deque<Waiting> waiting_;
  std::map<fetch::GroupId, fetch::FetchSink*> sinks_;
  Responder responder_;
  SubmitHook submit_hook_;
  fetch::GroupId next_group_ = 0;
  uint64_t submitted_ = 0;
  int cancels_ = 0;
  int opened_ = 0;
  int closed_ = 0;
  bool exit_ = false;
  std::thread thread_;  // last: starts after every member above exists
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_MOCKS_FAKE_FETCH_ENGINE_H_
