// bench-bare-curl: the engine's ceiling on this machine. A bare libcurl multi loop (perform +
// poll, keep-alive, one thread) that fetches N URLs with C transfers in flight and only counts the
// body bytes: no JSON, no gRPC, no output. Loopback benchmarks only.
//
//   bench-bare-curl URL_PREFIX N CONCURRENCY
// fetches URL_PREFIX1 .. URL_PREFIXN and prints one JSON line:
//   {"requests":N,"ok":N,"seconds":S,"rps":R,"bytes":B}
#include <curl/curl.h>

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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bench-bare-curl URL_PREFIX N CONCURRENCY\n");
    return 2;
  }
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

  auto t0 = std::chrono::steady_clock::now();
  while (done < total) {
    while (!idle.empty() && next <= total) start_one();
    int running = 0;
    curl_multi_perform(multi, &running);
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
    if (done >= total) break;
    if (!idle.empty() && next <= total) continue;  // refill before waiting
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"requests\":%ld,\"ok\":%ld,\"seconds\":%.4f,\"rps\":%.1f,\"bytes\":%zu}\n", total,
              ok, seconds, static_cast<double>(total) / seconds, bytes);
  for (Slot& slot : slots) curl_easy_cleanup(slot.easy);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return ok == total ? 0 : 1;
}
