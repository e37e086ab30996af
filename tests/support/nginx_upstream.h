// A real nginx on 127.0.0.1 for tests that need what cpp-httplib lacks (TLS with HTTP/2). Runs
// in the foreground as a child process with its own config, logs and temp paths in a directory.
#ifndef GATHER_TESTS_SUPPORT_NGINX_UPSTREAM_H_
#define GATHER_TESTS_SUPPORT_NGINX_UPSTREAM_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace gather::testing {

class NginxUpstream {
 public:
  // Serves HTTPS (HTTP/2 and HTTP/1.1 via ALPN) with `cert`/`key` from a free port, writing its
  // files under `dir`. Routes: /entities/N answers {"id":N,"label":"entity N"}. The access log
  // has one "URI PROTOCOL STATUS" line per request.
  static absl::StatusOr<std::unique_ptr<NginxUpstream>> StartTls(const std::string& dir,
                                                                 const std::string& cert,
                                                                 const std::string& key);
  ~NginxUpstream();

  int port() const { return port_; }
  std::string access_log() const;

 private:
  NginxUpstream(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  std::string dir_;
  int port_;
  std::optional<ChildProcess> process_;
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_NGINX_UPSTREAM_H_
