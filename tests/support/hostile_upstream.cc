#include "tests/support/hostile_upstream.h"

#include <arpa/inet.h>
#include <brotli/encode.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace gather::testing {
namespace {

constexpr size_t kBombBytes = 64u << 20;  // what a bomb inflates to

// Sends all of `data`; false when the peer is gone.
bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Waits up to `ms` for the peer to close (or the upstream to stop); true if it closed.
bool PeerClosedWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return false;
  char buffer[256];
  return ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT) <= 0;
}

std::string Gzip(size_t zeros) {
  z_stream stream{};
  deflateInit2(&stream, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string in(1 << 20, '\0');
  std::string out;
  char buffer[1 << 16];
  size_t left = zeros;
  while (true) {
    size_t chunk = std::min(left, in.size());
    left -= chunk;
    stream.next_in = reinterpret_cast<Bytef*>(in.data());
    stream.avail_in = static_cast<uInt>(chunk);
    int flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      stream.next_out = reinterpret_cast<Bytef*>(buffer);
      stream.avail_out = sizeof(buffer);
      deflate(&stream, flush);
      out.append(buffer, sizeof(buffer) - stream.avail_out);
    } while (stream.avail_out == 0);
    if (left == 0) break;
  }
  deflateEnd(&stream);
  return out;
}

std::string Brotli(size_t zeros) {
  std::string in(zeros, '\0');
  size_t size = BrotliEncoderMaxCompressedSize(in.size());
  std::string out(size, '\0');
  BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                        reinterpret_cast<const uint8_t*>(in.data()), &size,
                        reinterpret_cast<uint8_t*>(out.data()));
  out.resize(size);
  return out;
}

std::string Zstd(size_t zeros) {
  std::string in(zeros, '\0');
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t size = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  out.resize(ZSTD_isError(size) ? 0 : size);
  return out;
}

const std::string& Bomb(const std::string& kind) {
  static std::once_flag once;
  static std::string* gzip;
  static std::string* br;
  static std::string* zstd;
  std::call_once(once, [] {
    gzip = new std::string(Gzip(kBombBytes));
    br = new std::string(Brotli(kBombBytes));
    zstd = new std::string(Zstd(kBombBytes));
  });
  if (kind == "gzip") return *gzip;
  if (kind == "br") return *br;
  return *zstd;
}

}  // namespace

const std::vector<std::string>& HostileUpstream::Kinds() {
  static const auto* kinds = new std::vector<std::string>{
      "/hang",           "/slow-headers",   "/slow-body",       "/huge-length",
      "/endless-chunked", "/reset-headers", "/bad-chunked",     "/redirect-loop",
      "/many-headers",   "/huge-header",    "/html",            "/empty",
      "/early-close",    "/no-response",    "/garbage",         "/gzip-bomb",
      "/br-bomb",        "/zstd-bomb",      "/bad-gzip",        "/header-flood",   "/ok"};
  return *kinds;
}

HostileUpstream::HostileUpstream() = default;
HostileUpstream::~HostileUpstream() { Stop(); }

std::string HostileUpstream::base_url() const { return absl::StrCat("http://127.0.0.1:", port_); }

void HostileUpstream::Start() {
  Bomb("gzip");  // build the bombs before serving
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::listen(listen_fd_, 1024);
  socklen_t length = sizeof(address);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

void HostileUpstream::Stop() {
  if (stopping_.exchange(true)) return;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
}

void HostileUpstream::AcceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void HostileUpstream::Serve(int fd) {
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<size_t>(n));
  }
  std::string path;
  if (size_t space = request.find(' '); space != std::string::npos) {
    path = request.substr(space + 1, request.find(' ', space + 1) - space - 1);
  }
  auto headers = [](const std::string& status, const std::string& extra) {
    return absl::StrCat("HTTP/1.1 ", status, "\r\nConnection: close\r\n", extra, "\r\n");
  };
  auto trickle = [&](const std::string& bytes) {
    for (char c : bytes) {
      if (stopping_ || !SendAll(fd, std::string(1, c)) || PeerClosedWithin(fd, 1000)) return;
    }
  };
  auto stream_until_closed = [&](const std::string& chunk) {
    while (!stopping_ && SendAll(fd, chunk)) {
    }
  };

  if (path == "/hang") {
    while (!stopping_ && !PeerClosedWithin(fd, 200)) {
    }
  } else if (path == "/slow-headers") {
    trickle("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  } else if (path == "/slow-body") {
    if (SendAll(fd, headers("200 OK", "Content-Length: 100\r\nContent-Type: application/json\r\n"))) {
      trickle(std::string(100, ' '));
    }
  } else if (path == "/huge-length") {
    if (SendAll(fd, headers("200 OK", "Content-Length: 1073741824\r\n"))) {
      stream_until_closed(std::string(1 << 16, ' '));
    }
  } else if (path == "/endless-chunked") {
    if (SendAll(fd, headers("200 OK", "Transfer-Encoding: chunked\r\n"))) {
      std::string chunk = absl::StrCat("10000\r\n", std::string(0x10000, ' '), "\r\n");
      stream_until_closed(chunk);
    }
  } else if (path == "/reset-headers") {
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Ty");
    linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));  // close() sends RST
  } else if (path == "/bad-chunked") {
    SendAll(fd, headers("200 OK", "Transfer-Encoding: chunked\r\n") + "zz\r\nnot a chunk\r\n");
    PeerClosedWithin(fd, 5000);
  } else if (path == "/redirect-loop") {
    SendAll(fd, headers("302 Found", "Location: /redirect-loop\r\nContent-Length: 0\r\n"));
    PeerClosedWithin(fd, 5000);
  } else if (path == "/many-headers") {
    std::string many = "HTTP/1.1 200 OK\r\nConnection: close\r\n";
    for (int i = 0; i < 20000; ++i) absl::StrAppend(&many, "X-Header-", i, ": value\r\n");
    SendAll(fd, many + "Content-Length: 2\r\n\r\n{}");
    PeerClosedWithin(fd, 5000);
  } else if (path == "/header-flood") {
    std::string flood = "HTTP/1.1 200 OK\r\nConnection: close\r\n";
    for (int i = 0; i < 1000; ++i) flood += "a:b\r\n";  // 6 KB: small, but too many lines
    SendAll(fd, flood + "Content-Length: 2\r\n\r\n{}");
    PeerClosedWithin(fd, 5000);
  } else if (path == "/huge-header") {
    SendAll(fd, headers("200 OK", absl::StrCat("X-Big: ", std::string(200000, 'b'),
                                              "\r\nContent-Length: 2\r\n")) + "{}");
    PeerClosedWithin(fd, 5000);
  } else if (path == "/html") {
    std::string body = "<html><body>Service temporarily unavailable</body></html>";
    SendAll(fd, headers("200 OK", absl::StrCat("Content-Type: text/html\r\nContent-Length: ",
                                              body.size(), "\r\n")) + body);
    PeerClosedWithin(fd, 5000);
  } else if (path == "/empty") {
    SendAll(fd, headers("200 OK", "Content-Type: application/json\r\nContent-Length: 0\r\n"));
    PeerClosedWithin(fd, 5000);
  } else if (path == "/early-close") {
    SendAll(fd, headers("200 OK", "Content-Length: 1000\r\n") + "{\"partial\":");
  } else if (path == "/no-response") {
    // Close without a byte.
  } else if (path == "/garbage") {
    SendAll(fd, "\x16\x03\x01 this is not HTTP at all\r\n\r\n");
  } else if (path == "/gzip-bomb" || path == "/br-bomb" || path == "/zstd-bomb") {
    std::string kind = path.substr(1, path.find('-') - 1);
    const std::string& body = Bomb(kind);
    SendAll(fd, headers("200 OK", absl::StrCat("Content-Encoding: ", kind,
                                              "\r\nContent-Type: application/json\r\nContent-Length: ",
                                              body.size(), "\r\n")) + body);
    PeerClosedWithin(fd, 5000);
  } else if (path == "/bad-gzip") {
    std::string body = "this is not gzip data at all";
    SendAll(fd, headers("200 OK", absl::StrCat("Content-Encoding: gzip\r\nContent-Length: ",
                                              body.size(), "\r\n")) + body);
    PeerClosedWithin(fd, 5000);
  } else {  // "/ok" and anything else
    SendAll(fd, headers("200 OK", "Content-Type: application/json\r\nContent-Length: 11\r\n") +
                    "{\"value\":1}");
    PeerClosedWithin(fd, 5000);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(open_fds_, fd);
  }
  ::close(fd);
}

}  // namespace gather::testing
