#include "tests/support/nginx_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace gather::testing {
namespace {

// A port the kernel just handed out (and we released); nginx binds it right after.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

std::string Nginx() {
  for (const char* path : {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<NginxUpstream>> NginxUpstream::StartTls(const std::string& dir,
                                                                       const std::string& cert,
                                                                       const std::string& key) {
  std::string nginx = Nginx();
  if (nginx.empty()) return absl::NotFoundError("nginx is not installed (scripts/setup installs it)");
  std::filesystem::create_directories(dir + "/tmp");
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = FreePort();
    std::ofstream(dir + "/nginx.conf") << absl::StrCat(R"(
daemon off;
master_process off;
worker_processes 1;
pid )", dir, R"(/nginx.pid;
error_log )", dir, R"(/error.log warn;
events { worker_connections 1024; }
http {
  log_format proto '$request_uri $server_protocol $status';
  access_log )", dir, R"(/access.log proto;
  client_body_temp_path )", dir, R"(/tmp/body;
  proxy_temp_path )", dir, R"(/tmp/proxy;
  fastcgi_temp_path )", dir, R"(/tmp/fastcgi;
  uwsgi_temp_path )", dir, R"(/tmp/uwsgi;
  scgi_temp_path )", dir, R"(/tmp/scgi;
  keepalive_requests 100000;
  http2_max_requests 100000;
  server {
    listen 127.0.0.1:)", port, R"( ssl http2;
    ssl_certificate )", cert, R"(;
    ssl_certificate_key )", key, R"(;
    location ~ ^/entities/(\d+)$ {
      default_type application/json;
      return 200 '{"id":$1,"label":"entity $1"}';
    }
  }
}
)");
    auto child = ChildProcess::Start({nginx, "-p", dir, "-c", dir + "/nginx.conf"});
    if (!child.ok()) return child.status();
    std::unique_ptr<NginxUpstream> upstream(new NginxUpstream(dir, port));
    upstream->process_.emplace(*std::move(child));
    // Readiness: nginx accepts connections once it has bound the port (or it exited).
    absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up) {
      if (Accepts(port)) return upstream;
      if (kill(upstream->process_->pid(), 0) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    upstream.reset();  // the port was taken meanwhile, or nginx failed: try another
  }
  std::ifstream error_log(dir + "/error.log");
  std::ostringstream text;
  text << error_log.rdbuf();
  return absl::InternalError(absl::StrCat("nginx did not start: ", text.str()));
}

NginxUpstream::~NginxUpstream() {
  if (process_.has_value()) process_->Terminate(SIGQUIT);
}

std::string NginxUpstream::access_log() const {
  std::ifstream in(dir_ + "/access.log");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace gather::testing
