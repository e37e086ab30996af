#include "tests/support/upstream.h"

#include <chrono>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace gather::testing {

TestUpstream::TestUpstream(int threads) : server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_keep_alive_max_count(1000000);
  server_->set_keep_alive_timeout(30);
}

TestUpstream::~TestUpstream() { Stop(); }

void TestUpstream::Get(const std::string& pattern, Handler handler) {
  server_->Get(pattern, [this, handler = std::move(handler)](const httplib::Request& request,
                                                             httplib::Response& response) {
    ++requests_;
    int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    handler(request, response);
    --in_flight_;
  });
}

void TestUpstream::Start(const std::string& host, int port) {
  host_ = host;
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0) throw std::runtime_error("test upstream: cannot bind");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // The socket is bound and listening already: connections queue until the accept loop runs.
}

void TestUpstream::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

std::string TestUpstream::base_url() const { return absl::StrCat("http://", host_, ":", port_); }

bool TestUpstream::Delay(absl::Duration duration) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  return !stop_cv_.wait_for(lock, absl::ToChronoNanoseconds(duration), [this] { return stopping_; });
}

}  // namespace gather::testing
