// A throwaway redis-server for tests: no persistence, listening only on a Unix socket in a fresh
// directory (no port to race for), started and stopped by PID. Restart() brings it back on the
// same socket, empty, as after a crash.
#ifndef GATHER_TESTS_SUPPORT_REDIS_SERVER_H_
#define GATHER_TESTS_SUPPORT_REDIS_SERVER_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "tests/support/process.h"

namespace gather::testing {

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server and returns once it accepts connections (its "ready to accept" line).
  absl::Status Start();
  // SIGKILL, as a crash: clients see the connection drop.
  void Kill();
  absl::Status Restart() {
    Kill();
    return Start();
  }
  // The --rate_store value naming it (unix:///DIR/redis.sock).
  std::string url() const { return "unix://" + socket_; }
  const std::string& socket() const { return socket_; }

 private:
  std::string dir_;
  std::string socket_;
  std::optional<ChildProcess> process_;
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_REDIS_SERVER_H_
