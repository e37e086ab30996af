// An HTTP upstream that misbehaves on purpose, for the hostile-upstream tests. A raw TCP server
// on 127.0.0.1 (port 0), one thread per connection (test code only), that reads the request line
// and then does what its path names: never answers, trickles bytes, lies about lengths, sends
// endless or broken bodies, floods headers, loops redirects, resets, sends compression bombs...
// Kinds() lists every behaviour; the engine must end each one with a precise status.
#ifndef GATHER_TESTS_SUPPORT_HOSTILE_UPSTREAM_H_
#define GATHER_TESTS_SUPPORT_HOSTILE_UPSTREAM_H_

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gather::testing {

class HostileUpstream {
 public:
  HostileUpstream();
  ~HostileUpstream();  // Stop()
  HostileUpstream(const HostileUpstream&) = delete;
  HostileUpstream& operator=(const HostileUpstream&) = delete;

  void Start();
  // Closes the listener and every connection; joins all threads.
  void Stop();

  int port() const { return port_; }
  std::string base_url() const;
  int connections() const { return connections_.load(); }

  // Every behaviour, as the path that triggers it ("/hang", "/gzip-bomb", ...).
  static const std::vector<std::string>& Kinds();

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_HOSTILE_UPSTREAM_H_
