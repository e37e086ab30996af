#include "service/ratestore/local_store.h"

#include <utility>

namespace gather::ratestore {

LocalRateStore::LocalRateStore() : thread_([this] { Run(); }) {}

LocalRateStore::~LocalRateStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void LocalRateStore::Lease(LeaseRequest request, std::function<void(const LeaseReply&)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_.push_back([this, request = std::move(request), done = std::move(done)] {
      LeaseReply reply = budget_.Lease(request, absl::Now());
      reply.shared = true;  // nothing to share with: this is the whole budget
      if (done) done(reply);
    });
  }
  wake_.notify_one();
}

void LocalRateStore::Cooldown(const std::string& host, absl::Time until) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_.push_back([this, host, until] { budget_.Cooldown(host, until); });
  }
  wake_.notify_one();
}

void LocalRateStore::Run() {
  for (;;) {
    std::function<void()> next;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !work_.empty(); });
      if (stopping_) return;
      next = std::move(work_.front());
      work_.pop_front();
    }
    next();
  }
}

}  // namespace gather::ratestore
