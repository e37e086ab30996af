#include "tests/support/redis_server.h"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gather::testing {

RedisServer::RedisServer() {
  char dir[] = "/tmp/gather_redis_XXXXXX";
  if (::mkdtemp(dir) != nullptr) dir_ = dir;
  socket_ = dir_ + "/redis.sock";
}

RedisServer::~RedisServer() {
  Kill();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

absl::Status RedisServer::Start() {
  if (dir_.empty()) return absl::InternalError("cannot make a directory for redis-server");
  auto process = ChildProcess::Start({"/usr/bin/redis-server", "--port", "0", "--unixsocket",
                                      socket_, "--unixsocketperm", "700", "--save", "",
                                      "--appendonly", "no", "--dir", dir_, "--loglevel",
                                      "notice", "--daemonize", "no"});
  if (!process.ok()) return process.status();
  process_.emplace(*std::move(process));
  for (std::string line = process_->ReadLine(); !line.empty(); line = process_->ReadLine()) {
    // "Ready to accept connections" (TCP) or "now ready to accept connections at PATH" (Unix).
    if (absl::StrContains(line, "ready to accept connections") ||
        absl::StrContains(line, "Ready to accept connections")) {
      return absl::OkStatus();
    }
  }
  process_.reset();
  return absl::UnavailableError("redis-server exited before it was ready");
}

void RedisServer::Kill() {
  if (!process_) return;
  process_->Terminate(SIGKILL);
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove(socket_, ignored);
}

}  // namespace gather::testing
