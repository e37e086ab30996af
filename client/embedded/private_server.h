// A gatherd of the CLI's own, for a run given no --server: a child process listening on a Unix
// socket in a private directory (mode 0700), allowed to reach only the hosts the user's command
// names, and gone when the CLI is: stopped (SIGTERM, then waited for) when the run ends, and
// killed by the kernel when the CLI dies any other way (PR_SET_PDEATHSIG), so no gatherd is left
// behind, not even after a SIGKILL of the CLI.
//
// Egress: the user runs the command and owns the network, so the hosts they name (an API, their
// netdata agent on localhost or the LAN) are opened: IP literals by address (--egress_allow), names
// by name (--egress_allow_hosts). Nothing else that is not public is: a redirect or next page from
// a public API to loopback or a private address stays denied unless the user names that host too.
#ifndef GATHER_CLIENT_EMBEDDED_PRIVATE_SERVER_H_
#define GATHER_CLIENT_EMBEDDED_PRIVATE_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gather::client {

// The gatherd flags that open `hosts` (host names or IP literals, as common::HostOf gives them).
std::vector<std::string> EgressFlagsFor(const std::vector<std::string>& hosts);

// Which gatherd to start: $GATHERD, else the gatherd next to this executable, else one on PATH.
// NOT_FOUND says where it looked.
absl::StatusOr<std::string> FindGatherd();

// Owns the child process and its directory (shared with the signal thread). Started by the main thread (the kernel's
// parent-death signal is tied to the thread that forked); Stop may also run on the thread that
// StopOnSignals() starts, so it takes a mutex.
class PrivateServer {
 public:
  // Starts `gatherd` and waits until it listens (or fails: UNAVAILABLE with its last log lines).
  static absl::StatusOr<std::shared_ptr<PrivateServer>> Start(const std::string& gatherd,
                                                              const std::vector<std::string>& hosts);
  ~PrivateServer();  // Stop()
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  // "unix:/.../gatherd.sock", for --server.
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits (SIGKILL after a few seconds); removes the directory. Idempotent.
  void Stop();
  // SIGINT, SIGTERM and SIGHUP to the CLI stop this server (and remove its directory) before the
  // CLI dies of the signal as it would have. Call on the main thread before any other thread
  // starts (the signals are blocked there, and so in every thread started after). The waiting
  // thread shares `self`'s ownership, so the owner must Stop() it when done.
  static void StopOnSignals(std::shared_ptr<PrivateServer> self);

 private:
  PrivateServer() = default;

  std::mutex mu_;  // Stop
  pid_t pid_ = -1;
  int stdout_fd_ = -1;  // the child's stdout, kept open so it never writes into a closed pipe
  std::string dir_;
  std::string address_;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_EMBEDDED_PRIVATE_SERVER_H_
