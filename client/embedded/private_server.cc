#include "client/embedded/private_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace gather::client {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(15);
constexpr absl::Duration kStopTimeout = absl::Seconds(5);

bool IsExecutable(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// The last lines of gatherd's log, for an error message.
std::string LogTail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines = absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
  if (lines.size() > 5) lines.erase(lines.begin(), lines.end() - 5);
  return absl::StrJoin(lines, "\n");
}

}  // namespace

std::vector<std::string> EgressFlagsFor(const std::vector<std::string>& hosts) {
  std::vector<std::string> cidrs;
  std::vector<std::string> names;
  for (const std::string& host : hosts) {
    if (host.empty()) continue;
    in_addr v4;
    in6_addr v6;
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
      cidrs.push_back(absl::StrCat(host, "/32"));
    } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
      cidrs.push_back(absl::StrCat(host, "/128"));
    } else {
      names.push_back(host);
    }
  }
  std::vector<std::string> flags;
  if (!cidrs.empty()) flags.push_back(absl::StrCat("--egress_allow=", absl::StrJoin(cidrs, ",")));
  if (!names.empty()) {
    flags.push_back(absl::StrCat("--egress_allow_hosts=", absl::StrJoin(names, ",")));
  }
  return flags;
}

absl::StatusOr<std::string> FindGatherd() {
  if (const char* env = std::getenv("GATHERD"); env != nullptr && env[0] != '\0') {
    if (IsExecutable(env)) return std::string(env);
    return absl::NotFoundError(absl::StrCat("GATHERD=", env, " is not an executable file"));
  }
  char self[4096];
  ssize_t length = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length > 0) {
    std::string dir(self, static_cast<size_t>(length));
    dir.resize(dir.rfind('/') + 1);
    if (IsExecutable(dir + "gatherd")) return dir + "gatherd";
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view entry : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      std::string candidate = absl::StrCat(entry, "/gatherd");
      if (IsExecutable(candidate)) return candidate;
    }
  }
  return absl::NotFoundError(
      "no gatherd next to gather or on PATH (or set GATHERD=/path/to/gatherd)");
}

absl::StatusOr<std::shared_ptr<PrivateServer>> PrivateServer::Start(
    const std::string& gatherd, const std::vector<std::string>& hosts) {
  std::shared_ptr<PrivateServer> server(new PrivateServer());
  // A Unix socket path is at most 107 bytes: a long TMPDIR falls back to /tmp.
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp", "/gather-XXXXXX");
  if (pattern.size() > 80) pattern = "/tmp/gather-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot make a private directory for gatherd (",
                                               pattern, "): ", std::strerror(errno)));
  }
  server->dir_ = pattern;  // mkdtemp makes it 0700
  const std::string socket = server->dir_ + "/gatherd.sock";
  const std::string log = server->dir_ + "/gatherd.log";
  server->address_ = "unix:" + socket;

  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = {gatherd, "--listen=unix:" + socket, "--log_level=warning",
                                   "--shutdown_grace=2"};
  for (std::string& flag : EgressFlagsFor(hosts)) args.push_back(std::move(flag));
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The kernel sends SIGTERM when the CLI's main thread ends, however it ends.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the CLI died before prctl took effect
    ::setpgid(0, 0);  // Ctrl-C in the terminal goes to the CLI, which then takes gatherd down
    sigset_t none;    // the CLI blocks some signals (StopOnSignals); gatherd must get them
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    if (log_fd >= 0) ::dup2(log_fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (log_fd >= 0) ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) {
    ::close(out[0]);
    return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  server->pid_ = pid;
  server->stdout_fd_ = out[0];

  // Ready once it printed "gatherd listening on ...".
  std::string printed;
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (printed.find('\n') == std::string::npos) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd wait{server->stdout_fd_, POLLIN, 0};
    int ready = ::poll(&wait, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buffer[256];
    ssize_t n = ::read(server->stdout_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // it exited
    printed.append(buffer, static_cast<size_t>(n));
  }
  if (!absl::StrContains(printed, "listening on")) {
    std::string tail = LogTail(log);
    server->Stop();
    return absl::UnavailableError(absl::StrCat("the private gatherd (", gatherd,
                                               ") did not start", tail.empty() ? "" : ":\n", tail));
  }
  return server;
}

void PrivateServer::StopOnSignals(std::shared_ptr<PrivateServer> self) {
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([self = std::move(self), signals] {
    int signal = 0;
    if (::sigwait(&signals, &signal) != 0) return;
    self->Stop();
    // Die of the signal, as without this thread.
    ::signal(signal, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signal);
    ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    ::raise(signal);
  }).detach();
}

void PrivateServer::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + kStopTimeout;
    int status = 0;
    pid_t done = 0;
    while ((done = ::waitpid(pid_, &status, WNOHANG)) == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));  // a bounded wait for a process to exit
    }
    if (done == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
  if (!dir_.empty()) {
    ::unlink((dir_ + "/gatherd.sock").c_str());
    ::unlink((dir_ + "/gatherd.log").c_str());
    ::rmdir(dir_.c_str());
    dir_.clear();
  }
}

PrivateServer::~PrivateServer() { Stop(); }

}  // namespace gather::client
