// The fetch engine's own cost per job, without the network: jobs submitted to a group whose
// deadline has passed travel the whole path (inbox, wake-up, queue, admission check, completion
// delivered to the sink on the loop thread) but never start a transfer.
#include <condition_variable>
#include <mutex>

#include "benchmark/benchmark.h"
#include "service/fetch/curl_engine.h"

namespace gather::fetch {
namespace {

class CountingSink : public FetchSink {
 public:
  void OnFetchDone(uint64_t /*tag*/, FetchResult& /*result*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (++done_ == expected_) cv_.notify_one();
  }
  void Expect(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = 0;
    expected_ = n;
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_ == expected_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t done_ = 0;
  int64_t expected_ = -1;
};

void BM_EnginePerJobOverhead(benchmark::State& state) {
  auto engine = CurlEngine::Create(EngineOptions());
  if (!engine.ok()) {
    state.SkipWithError("no engine");
    return;
  }
  CountingSink sink;
  GroupOptions options;
  options.deadline = absl::InfinitePast();
  GroupId group = (*engine)->OpenGroup(&sink, options);
  const int64_t batch_size = state.range(0);
  for (auto _ : state) {
    std::vector<std::pair<uint64_t, FetchRequest>> batch;
    batch.reserve(static_cast<size_t>(batch_size));
    for (int64_t i = 0; i < batch_size; ++i) {
      FetchRequest request;
      request.url = "http://127.0.0.1:9/api/v2/entities/" + std::to_string(i);
      request.host = "127.0.0.1";
      batch.emplace_back(static_cast<uint64_t>(i), std::move(request));
    }
    sink.Expect(batch_size);
    (*engine)->SubmitBatch(group, std::move(batch));
    sink.Wait();
  }
  (*engine)->CloseGroup(group);
  state.SetItemsProcessed(state.iterations() * batch_size);
}
BENCHMARK(BM_EnginePerJobOverhead)->Arg(1000)->UseRealTime();

}  // namespace
}  // namespace gather::fetch
