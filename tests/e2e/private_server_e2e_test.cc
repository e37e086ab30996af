// End to end: `gather` with no --server starts its own gatherd (next to it in the build's bin
// directory), runs against a local upstream, and leaves no gatherd behind: not after a normal
// run, not after the CLI is sent SIGTERM or SIGKILL mid-run (and no directory but after SIGKILL).
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/scale.h"
#include "tests/support/upstream.h"

namespace gather::testing {
namespace {

const std::string kBin = GATHER_BIN_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The children of `parent` that run gatherd, from /proc.
std::vector<pid_t> GatherdChildrenOf(pid_t parent) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::string status = ReadFile(entry.path().string() + "/status");
    size_t at = status.find("\nPPid:\t");
    if (at == std::string::npos) continue;
    pid_t ppid = 0;
    if (!absl::SimpleAtoi(status.substr(at + 7, status.find('\n', at + 7) - at - 7), &ppid) ||
        ppid != parent) {
      continue;
    }
    if (ReadFile(entry.path().string() + "/cmdline").find("gatherd") != std::string::npos) {
      found.push_back(pid);
    }
  }
  return found;
}

// Waits until process `pid` (not a child of ours) has exited: true, or false after `timeout`.
bool WaitForExit(pid_t pid, absl::Duration timeout) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // already gone
  pollfd wait{fd, POLLIN, 0};
  int ready = poll(&wait, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  close(fd);
  return ready == 1;
}

class PrivateServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("GATHER_SERVER");
    char dir[] = "/tmp/gather_private_e2e_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    upstream_.Get(R"(/v/(\d+))", [this](const httplib::Request& request, httplib::Response& response) {
      OnRequest();
      response.set_content(absl::StrCat(R"({"v":)", request.matches[1].str(), "}"),
                           "application/json");
    });
    upstream_.Start();
  }
  void TearDown() override {
    upstream_.Stop();
    std::filesystem::remove_all(dir_);
  }
  std::string WriteKeys(int n) {
    std::string path = dir_ + "/keys.txt";
    std::ofstream out(path);
    for (int i = 0; i < n; ++i) out << i << "\n";
    return path;
  }
  std::vector<std::string> LookupArgs(const std::string& keys) {
    return {kBin + "/gather", "lookup", "--template", upstream_.base_url() + "/v/{key}",
            "--keys", keys, "--field", "v=/v", "--out", dir_ + "/out.jsonl", "--quiet"};
  }

  // The upstream's handlers: the CLI's gatherd children (it is running: it sent this request),
  // and once, `kill_signal_` to the CLI.
  void OnRequest() {
    std::lock_guard<std::mutex> lock(mu_);
    if (cli_ <= 0) return;
    if (servers_.empty()) {
      servers_ = GatherdChildrenOf(cli_);
      // Its private directory, from --listen=unix:DIR/gatherd.sock.
      for (pid_t server : servers_) {
        std::string cmdline = ReadFile(absl::StrCat("/proc/", server, "/cmdline"));
        size_t at = cmdline.find("--listen=unix:");
        if (at == std::string::npos) continue;
        std::string socket = cmdline.substr(at + 14, cmdline.find('\0', at) - at - 14);
        dirs_.push_back(socket.substr(0, socket.rfind('/')));
      }
    }
    if (kill_signal_ != 0 && !sent_) {
      sent_ = true;
      kill(cli_, kill_signal_);
    }
  }
  // Runs a lookup and sends `signal` to the CLI once the upstream has seen a request; checks
  // that the CLI's gatherd exits after it.
  void KillMidRun(int signal) {
    std::string keys = WriteKeys(Scaled(20'000, 2'000));
    auto child = ChildProcess::Start(LookupArgs(keys));
    ASSERT_TRUE(child.ok()) << child.status();
    {
      std::lock_guard<std::mutex> lock(mu_);
      kill_signal_ = signal;
      cli_ = child->pid();
    }
    EXPECT_EQ(child->ReadLine(), "");  // stdout closes when the CLI dies
    EXPECT_EQ(child->Terminate(0), 128 + signal);
    std::vector<pid_t> servers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      EXPECT_TRUE(sent_);
      servers = servers_;
    }
    ASSERT_EQ(servers.size(), 1u);
    EXPECT_TRUE(WaitForExit(servers[0], Slack(absl::Seconds(10))))
        << "gatherd " << servers[0] << " outlived the CLI";
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_EQ(dirs_.size(), 1u);
    if (signal == SIGKILL) {
      std::filesystem::remove_all(dirs_[0]);  // a SIGKILL leaves the directory (docs/SECURITY.md)
    } else {
      EXPECT_FALSE(std::filesystem::exists(dirs_[0])) << dirs_[0];  // removed on SIGTERM
    }
  }

  std::string dir_;
  std::mutex mu_;  // guards the four below (the upstream's threads and the test's)
  pid_t cli_ = -1;
  int kill_signal_ = 0;
  bool sent_ = false;
  std::vector<pid_t> servers_;
  std::vector<std::string> dirs_;  // their private directories
  TestUpstream upstream_;  // last: stopped (its threads joined) before the members above go
};

TEST_F(PrivateServerE2eTest, LookupWithoutAServerRunsOnAPrivateGatherdAndLeavesNoneBehind) {
  std::string keys = WriteKeys(300);
  auto child = ChildProcess::Start(LookupArgs(keys));
  ASSERT_TRUE(child.ok()) << child.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cli_ = child->pid();
  }
  EXPECT_EQ(child->Wait(), 0);
  std::string out = ReadFile(dir_ + "/out.jsonl");
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 300u);
  for (const std::string& line : lines) {
    auto row = nlohmann::json::parse(line);
    EXPECT_EQ(row["status"], "OK");
    EXPECT_EQ(row["fields"]["v"].get<int>(), std::stoi(row["key"].get<std::string>()));
  }
  std::vector<pid_t> servers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    servers = servers_;
  }
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_TRUE(WaitForExit(servers[0], absl::Seconds(1)));  // stopped before the CLI exited
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(dirs_.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dirs_[0])) << dirs_[0];
}

TEST_F(PrivateServerE2eTest, SigtermOfTheCliTakesItsGatherdDown) { KillMidRun(SIGTERM); }

TEST_F(PrivateServerE2eTest, SigkillOfTheCliTakesItsGatherdDown) { KillMidRun(SIGKILL); }

// The private gatherd reaches the hosts the command names, and no other non-public address: a
// redirect from the named host to another loopback address is refused.
TEST_F(PrivateServerE2eTest, OnlyTheNamedHostsAreOpen) {
  TestUpstream other;
  other.Get("/x", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"v":1})", "application/json");
  });
  other.Start("127.0.0.2");
  RunResult run = ::gather::testing::Run({kBin + "/gather", "fetch", "named=" + upstream_.base_url() + "/v/7",
                       "other=" + other.base_url() + "/x", "--field", "v=/v", "--combine"});
  EXPECT_EQ(run.exit_code, 0) << run.err;  // both named: both open
  EXPECT_EQ(nlohmann::json::parse(run.out)["other"]["v"], 1) << run.out;
  // Named in the first run only: a lookup that names 127.0.0.1 cannot reach 127.0.0.2 through a
  // next page.
  upstream_.Stop();
  TestUpstream paged;
  // Made before `paged` starts its threads, and copied into the handler.
  const std::string body = absl::StrCat(R"({"v":1,"next":")", other.base_url(), R"(/x"})");
  paged.Get(R"(/p/(\d+))", [body](const httplib::Request&, httplib::Response& response) {
    response.set_content(body, "application/json");
  });
  paged.Start();
  run = ::gather::testing::Run({kBin + "/gather", "lookup", "--template", paged.base_url() + "/p/{key}", "--keys",
             WriteKeys(1), "--field", "v=/v", "--next-url", "/next"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["status"], "BLOCKED") << run.out;
  other.Stop();
  paged.Stop();
}

}  // namespace
}  // namespace gather::testing
