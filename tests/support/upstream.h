// A local HTTP upstream for tests (cpp-httplib on 127.0.0.1, port 0), with a large worker pool
// (workers start as requests need them, up to `threads`) and unlimited keep-alive so it can
// serve more simultaneous requests than any cap under test.
// Counts requests and the most requests in progress at once.
#ifndef GATHER_TESTS_SUPPORT_UPSTREAM_H_
#define GATHER_TESTS_SUPPORT_UPSTREAM_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace gather::testing {

class TestUpstream {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  explicit TestUpstream(int threads = 512);
  ~TestUpstream();

  // Routes must be added before Start(). Handlers run on the upstream's worker threads and are
  // wrapped so in_flight()/max_in_flight()/requests() count them.
  void Get(const std::string& pattern, Handler handler);
  // The same for "GET", "POST", "PUT", "PATCH" or "DELETE".
  void Route(const std::string& method, const std::string& pattern, Handler handler);
  // Binds to `host`:`port` (0 = any free port) and serves in a background thread.
  void Start(const std::string& host = "127.0.0.1", int port = 0);
  void Stop();

  int port() const { return port_; }
  std::string base_url() const;
  int requests() const { return requests_.load(); }
  int in_flight() const { return in_flight_.load(); }
  int max_in_flight() const { return max_in_flight_.load(); }

  // For handlers: waits up to `duration`, returning early (false) when the upstream stops.
  bool Delay(absl::Duration duration);

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_UPSTREAM_H_
