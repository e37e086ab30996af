#include "tests/support/upstream.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <functional>
#include <stdexcept>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace gather::testing {
namespace {

// cpp-httplib 0.11 listens with a backlog of 5: a burst of new connections overflows it and
// the dropped SYNs come back a second later. Find our listening socket and deepen its backlog
// (listen() again on a listening socket only updates the backlog).
void DeepenBacklog(int port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    int listening = 0;
    socklen_t length = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || !listening) continue;
    sockaddr_storage address{};
    length = sizeof(address);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) continue;
    int bound = 0;
    if (address.ss_family == AF_INET) bound = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
    if (address.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
    if (bound == port) listen(fd, 4096);
  }
  closedir(dir);
}

// cpp-httplib's ThreadPool starts all its threads before the server accepts anything: 512 of
// them take seconds under TSan (and on a loaded machine), while the first requests wait and time
// out. This pool starts a worker only when a request finds none idle, up to `max`.
class GrowingPool : public httplib::TaskQueue {
 public:
  explicit GrowingPool(size_t max) : max_(max) {}
  ~GrowingPool() override = default;  // the server calls shutdown() first

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(fn));
      if (jobs_.size() > idle_ && threads_.size() < max_) {
        threads_.emplace_back([this] { Work(); });
      }
    }
    cv_.notify_one();
  }
  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
      threads.swap(threads_);
    }
    cv_.notify_all();
    for (std::thread& thread : threads) thread.join();
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // shutting down, nothing left to run
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace

TestUpstream::TestUpstream(int threads) : server_(std::make_unique<httplib::Server>()) {
  server_->new_task_queue = [threads] { return new GrowingPool(static_cast<size_t>(threads)); };
  server_->set_keep_alive_max_count(1000000);
  server_->set_keep_alive_timeout(5);
  server_->set_tcp_nodelay(true);  // headers and body go out in separate writes
}

TestUpstream::~TestUpstream() { Stop(); }

void TestUpstream::Get(const std::string& pattern, Handler handler) {
  Route("GET", pattern, std::move(handler));
}

void TestUpstream::Route(const std::string& method, const std::string& pattern, Handler handler) {
  auto counted = [this, handler = std::move(handler)](const httplib::Request& request,
                                                      httplib::Response& response) {
    ++requests_;
    int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    handler(request, response);
    // cpp-httplib 0.11 compresses "application/json" for clients that accept gzip or br, and its
    // compressed keep-alive path stalls for tens of milliseconds per response. The parameter keeps
    // JSON uncompressed; handlers that want compression (bomb tests) use text/plain.
    if (response.get_header_value("Content-Type") == "application/json") {
      response.headers.erase("Content-Type");
      response.set_header("Content-Type", "application/json; charset=utf-8");
    }
    --in_flight_;
  };
  if (method == "GET") {
    server_->Get(pattern, std::move(counted));  // HEAD too
  } else if (method == "POST") {
    server_->Post(pattern, std::move(counted));
  } else if (method == "PUT") {
    server_->Put(pattern, std::move(counted));
  } else if (method == "PATCH") {
    server_->Patch(pattern, std::move(counted));
  } else if (method == "DELETE") {
    server_->Delete(pattern, std::move(counted));
  }
}

void TestUpstream::Start(const std::string& host, int port) {
  host_ = host;
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0) throw std::runtime_error("test upstream: cannot bind");
  DeepenBacklog(port_);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // The socket is bound and listening already: connections queue until the accept loop runs.
  // But cpp-httplib's stop() does nothing until that loop has marked the server running, so a
  // Stop() that came first (a test that never calls the upstream) would leave the loop running
  // and join() waiting forever: return only once the loop runs.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!server_->is_running()) {
    if (std::chrono::steady_clock::now() > give_up) {
      throw std::runtime_error("test upstream: the accept loop did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
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
