#include "tests/support/process.h"

#include <fstream>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace gather::testing {
namespace {

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const std::string& arg : args) out.push_back(const_cast<char*>(arg.c_str()));
  out.push_back(nullptr);
  return out;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

// Drains a child's stderr pipe on its own thread until EOF.
struct ChildProcess::StderrCapture {
  explicit StderrCapture(int fd) : fd(fd), thread([this] { Drain(); }) {}
  ~StderrCapture() {
    thread.join();  // the child is dead by now: EOF is near
    close(fd);
  }
  void Drain() {
    char chunk[4096];
    for (;;) {
      ssize_t n = read(fd, chunk, sizeof(chunk));
      std::lock_guard<std::mutex> lock(mu);
      if (n <= 0) {
        closed = true;
        cv.notify_all();
        return;
      }
      text.append(chunk, static_cast<size_t>(n));
      cv.notify_all();
    }
  }
  int fd;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::string text;
  bool closed = false;
  std::thread thread;
};

absl::StatusOr<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                                 bool capture_stderr) {
  int pipe_fds[2];
  int err_fds[2] = {-1, -1};
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  if (capture_stderr && pipe2(err_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  if (capture_stderr) posix_spawn_file_actions_adddup2(&actions, err_fds[1], STDERR_FILENO);
  pid_t pid = -1;
  std::vector<char*> args = Argv(argv);
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (capture_stderr) close(err_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    if (capture_stderr) close(err_fds[0]);
    return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc)));
  }
  ChildProcess child(pid, pipe_fds[0]);
  if (capture_stderr) child.stderr_ = std::make_shared<StderrCapture>(err_fds[0]);
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_),
      out_fd_(other.out_fd_),
      buffer_(std::move(other.buffer_)),
      stderr_(std::move(other.stderr_)) {
  other.pid_ = -1;
  other.out_fd_ = -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Terminate(SIGKILL);
  if (out_fd_ >= 0) close(out_fd_);
}

std::string ChildProcess::stderr_text() const {
  if (stderr_ == nullptr) return "";
  std::lock_guard<std::mutex> lock(stderr_->mu);
  return stderr_->text;
}

bool ChildProcess::WaitForStderr(const std::string& text, absl::Duration timeout) const {
  if (stderr_ == nullptr) return false;
  std::unique_lock<std::mutex> lock(stderr_->mu);
  return stderr_->cv.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
    return stderr_->closed || stderr_->text.find(text) != std::string::npos;
  }) && stderr_->text.find(text) != std::string::npos;
}

std::string ChildProcess::ReadLine() {
  for (;;) {
    size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    char chunk[4096];
    ssize_t n = read(out_fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      std::string rest = std::move(buffer_);
      buffer_.clear();
      return rest;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

int ChildProcess::Terminate(int signal) {
  if (pid_ <= 0) return -1;
  if (signal != 0) kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return ExitCode(status);
}

absl::StatusOr<Gatherd> StartGatherd(const std::string& bin_dir, std::vector<std::string> flags,
                                     bool capture_stderr) {
  std::vector<std::string> argv = {bin_dir + "/gatherd", "--listen=127.0.0.1:0"};
  for (std::string& flag : flags) argv.push_back(std::move(flag));
  auto child = ChildProcess::Start(argv, capture_stderr);
  if (!child.ok()) return child.status();
  std::string line = child->ReadLine();
  constexpr absl::string_view kPrefix = "gatherd listening on ";
  if (!absl::StartsWith(line, kPrefix)) {
    return absl::InternalError(absl::StrCat("gatherd did not start; first line: \"", line, "\""));
  }
  std::string address(absl::StripPrefix(line, kPrefix));
  return Gatherd{*std::move(child), address};
}

RunResult Run(const std::vector<std::string>& argv) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = -1;
  std::vector<char*> args = Argv(argv);
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    result.err = std::strerror(rc);
    return result;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char chunk[8192];
      ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? result.out : result.err).append(chunk, static_cast<size_t>(n));
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = ExitCode(status);
  return result;
}

long RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

}  // namespace gather::testing
