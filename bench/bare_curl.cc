// bench-bare-curl: the engine's ceiling on this machine. A bare libcurl multi loop (keep-alive,
// one thread) that fetches N URLs with C transfers in flight and only counts the body bytes: no
// JSON, no gRPC, no output. Loopback benchmarks only. Two loops:
//   poll:   curl_multi_perform + curl_multi_poll (every handle and socket visited per wakeup)
//   socket: curl_multi_socket_action driven by epoll (only the sockets that are ready)
//
//   bench-bare-curl URL_PREFIX N CONCURRENCY [poll|socket]
// fetches URL_PREFIX1 .. URL_PREFIXN and prints one JSON line:
//   {"requests":N,"ok":N,"seconds":S,"rps":R,"bytes":B}
#include <curl/curl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Slot {
  CURL* easy = nullptr;
  size_t bytes = 0;
  std::string url;
};

size_t CountBytes(char* /*data*/, size_t size, size_t count, void* user) {
  static_cast<Slot*>(user)->bytes += size * count;
  return size * count;
}

// State of the epoll-driven loop (curl's hiperfifo example, with epoll instead of libevent).
struct SocketLoop {
  int epoll_fd = -1;
  long timeout_ms = -1;  // what curl asked for; -1: no timer
};

int OnSocket(CURL* /*easy*/, curl_socket_t socket, int what, void* user, void* /*socket_user*/) {
  auto* loop = static_cast<SocketLoop*>(user);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event event{};
  event.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  event.data.fd = socket;
  if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, socket, &event) != 0) {
    epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, socket, &event);
  }
  return 0;
}

int OnTimer(CURLM* /*multi*/, long timeout_ms, void* user) {
  static_cast<SocketLoop*>(user)->timeout_ms = timeout_ms;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: bench-bare-curl URL_PREFIX N CONCURRENCY [poll|socket]\n");
    return 2;
  }
  const bool socket_loop = argc == 5 && std::string(argv[4]) == "socket";
  const std::string prefix = argv[1];
  const long total = std::atol(argv[2]);
  const int concurrency = std::atoi(argv[3]);
  if (total <= 0 || concurrency <= 0) return 2;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(concurrency));
  std::vector<Slot> slots(static_cast<size_t>(concurrency));
  std::vector<Slot*> idle;
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    idle.push_back(&slot);
  }

  long next = 1, done = 0, ok = 0;
  size_t bytes = 0;
  auto start_one = [&] {
    Slot* slot = idle.back();
    idle.pop_back();
    slot->url = prefix + std::to_string(next++);
    slot->bytes = 0;
    curl_easy_setopt(slot->easy, CURLOPT_URL, slot->url.c_str());
    curl_easy_setopt(slot->easy, CURLOPT_WRITEFUNCTION, &CountBytes);
    curl_easy_setopt(slot->easy, CURLOPT_WRITEDATA, slot);
    curl_easy_setopt(slot->easy, CURLOPT_PRIVATE, slot);
    curl_easy_setopt(slot->easy, CURLOPT_NOSIGNAL, 1L);
    curl_multi_add_handle(multi, slot->easy);
  };

  auto drain = [&] {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&slot));
      long code = 0;
      curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &code);
      if (message->data.result == CURLE_OK && code == 200) ++ok;
      bytes += slot->bytes;
      ++done;
      curl_multi_remove_handle(multi, message->easy_handle);
      idle.push_back(slot);
    }
  };

  SocketLoop loop;
  if (socket_loop) {
    loop.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &OnSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &loop);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &OnTimer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &loop);
  }

  auto t0 = std::chrono::steady_clock::now();
  if (socket_loop) {
    std::vector<epoll_event> events(static_cast<size_t>(concurrency) + 16);
    int running = 0;
    while (done < total) {
      while (!idle.empty() && next <= total) start_one();
      if (loop.timeout_ms == 0) {
        loop.timeout_ms = -1;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
        drain();
        continue;
      }
      int ready = epoll_wait(loop.epoll_fd, events.data(), static_cast<int>(events.size()),
                             loop.timeout_ms < 0 ? 1000 : static_cast<int>(loop.timeout_ms));
      if (ready <= 0) {
        loop.timeout_ms = -1;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
      } else {
        for (int i = 0; i < ready; ++i) {
          int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                      (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                      (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
          curl_multi_socket_action(multi, events[i].data.fd, flags, &running);
        }
      }
      drain();
    }
  }
  while (!socket_loop && done < total) {
    while (!idle.empty() && next <= total) start_one();
    int running = 0;
    curl_multi_perform(multi, &running);
    drain();
    if (done >= total) break;
    if (!idle.empty() && next <= total) continue;  // refill before waiting
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"requests\":%ld,\"ok\":%ld,\"seconds\":%.4f,\"rps\":%.1f,\"bytes\":%zu}\n", total,
              ok, seconds, static_cast<double>(total) / seconds, bytes);
  for (Slot& slot : slots) curl_easy_cleanup(slot.easy);
  curl_multi_cleanup(multi);
  if (loop.epoll_fd >= 0) close(loop.epoll_fd);
  curl_global_cleanup();
  return ok == total ? 0 : 1;
}
