#include "client/lookup/sharded_run.h"

#include <algorithm>
#include <iostream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/io/text.h"

namespace gather::client {
namespace {

// Keys longer than this are not sent (no URL can hold them); their line gets INVALID_KEY.
constexpr size_t kMaxKeyBytes = 1 << 20;
// A key message is sent when it holds keys_per_message keys or this many bytes.
constexpr size_t kMaxKeyMessageBytes = 1 << 20;

// The gRPC name of a stream's status code ("UNAVAILABLE"), "code N" for others.
std::string StatusCodeName(const absl::Status& status) {
  static constexpr const char* kNames[] = {
      "OK",        "CANCELLED",          "UNKNOWN",         "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",  "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",     "DATA_LOSS",
      "UNAUTHENTICATED"};
  int code = static_cast<int>(status.code());
  return code >= 0 && code < 17 ? kNames[code] : absl::StrCat("code ", code);
}

}  // namespace

ShardedRun::ShardedRun(const LookupOptions& options, const v1::LookupSpec& spec,
                       std::vector<ServerTarget> targets, std::vector<ResolvedServer> servers,
                       const SeqBitmap& done, std::unique_ptr<KeySource> keys,
                       KeysInput keys_input, LookupTransport& transport)
    : options_(options), spec_(spec), targets_(std::move(targets)), done_(done),
      first_keys_(std::move(keys)), keys_input_(std::move(keys_input)), transport_(transport),
      servers_(std::move(servers)) {
  for (const ServerTarget& target : targets_) dns_ |= target.dns;
}

absl::Status ShardedRun::Connect() {
  std::lock_guard<std::mutex> lock(mu_);
  return transport_.Connect(servers_);
}

void ShardedRun::Run(uint32_t shards, RowSink& sink) {
  sink_ = &sink;
  run_start_ = absl::Now();
  shards_.assign(shards, Shard{});
  std::vector<std::thread> threads;
  threads.reserve(shards);
  for (uint32_t i = 0; i < shards; ++i) threads.emplace_back([this, i] { RunShard(i); });
  for (std::thread& thread : threads) thread.join();
}

bool ShardedRun::complete() const {
  if (fatal_) return false;
  for (const Shard& shard : shards_) {
    if (!shard.done) return false;
  }
  return true;
}

uint64_t ShardedRun::expected() const {
  uint64_t total = 0;
  for (const Shard& shard : shards_) total += shard.total;
  return total;
}

bool ShardedRun::input_complete() const {
  for (const Shard& shard : shards_) {
    if (!shard.input_complete) return false;
  }
  return true;
}

uint64_t ShardedRun::skipped() const {
  uint64_t total = 0;
  for (const Shard& shard : shards_) total += shard.skipped;
  return total;
}

double ShardedRun::rate() const {
  double total = 0;
  for (const auto& [server, rate] : server_rates_) total += rate;
  return total;
}

std::vector<ResolvedServer> ShardedRun::CurrentServers(bool refresh) {
  if (refresh && dns_) {
    auto resolved = ResolveServers(targets_);
    std::lock_guard<std::mutex> lock(mu_);
    if (resolved.ok()) servers_ = *std::move(resolved);
  }
  std::lock_guard<std::mutex> lock(mu_);
  return servers_;
}

void ShardedRun::RunShard(uint32_t index) {
  uint32_t failed_attempts = 0;  // all of them: where the next attempt goes
  uint32_t failures = 0;         // in a row without a new row: the backoff and the give-up
  bool first = true;
  while (!stopping_.load()) {
    std::vector<ResolvedServer> servers = CurrentServers(/*refresh=*/failed_attempts > 0);
    const ResolvedServer server =
        servers[ServerForAttempt(index, failed_attempts, servers.size())];
    const uint64_t rows_before = sink_->shard_rows(index);
    std::unique_ptr<KeySource> keys;
    if (index == 0 && first_keys_ != nullptr) {
      keys = std::move(first_keys_);  // the first attempt, or one that read no key of it
    } else if (options_.keys == "-") {
      // stdin was read once: nothing to send again.
      Fail(absl::UnavailableError("the stream broke and --keys - (stdin) cannot be read again"));
      return;
    } else {
      auto opened = KeySource::Open(keys_input_);
      if (!opened.ok()) {
        SetReadError(opened.status());
        return;
      }
      keys = *std::move(opened);
    }
    bool read_any = false;
    absl::Status status =
        RunAttempt(index, server, *keys, /*check_written=*/!first, &read_any);
    first = false;
    if (options_.keys == "-" && !read_any) first_keys_ = std::move(keys);  // still unread
    Shard& shard = shards_[index];  // only this thread writes its shard
    // Every key of the share has its row, however the stream then ended (a drain after the
    // last row, a late deadline): done.
    if (shard.input_complete && sink_->shard_rows(index) >= shard.total) {
      shard.done = true;
      return;
    }
    if (stopping_.load()) return;
    if (status.ok()) {
      // Ended without a row for every key (the server cancelled some while shutting down).
      status = absl::UnavailableError("the server ended the stream before every key had its row");
    }
    // Until some stream of the run has answered, a failure is more likely a wrong address or
    // TLS setting than a restart: try each other server once, then give up at once. A server
    // that is full (RESOURCE_EXHAUSTED) is waited for instead.
    const bool established = established_.load();
    if (!IsReconnectable(static_cast<int>(status.code())) ||
        (!established && status.code() != absl::StatusCode::kResourceExhausted &&
         failed_attempts + 1 >= servers.size())) {
      Fail(status);
      return;
    }
    ++failed_attempts;
    if (sink_->shard_rows(index) > rows_before) failures = 0;
    if (++failures > options_.retries) {
      Fail(status);
      return;
    }
    double jitter;
    {
      std::lock_guard<std::mutex> lock(mu_);
      jitter = absl::Uniform(bitgen_, 0.0, 1.0);
    }
    absl::Duration backoff = ReconnectBackoff(failures, jitter);
    std::vector<ResolvedServer> next_servers = CurrentServers(/*refresh=*/false);
    {
      // Said even with --quiet: the run goes on, but someone may want to know why it slowed.
      std::lock_guard<std::mutex> lock(mu_);
      std::cerr << "gather lookup: shard " << index << ": the stream to " << server.address
                << " ended (" << StatusCodeName(status) << (status.message().empty() ? "" : ": ")
                << status.message() << "); reconnecting to "
                << next_servers[ServerForAttempt(index, failed_attempts, next_servers.size())]
                       .address
                << " in " << absl::StrFormat("%.1f", absl::ToDoubleSeconds(backoff))
                << " s\n";
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++reconnects_;
      stop_cv_.wait_for(lock, absl::ToChronoMilliseconds(backoff),
                        [this] { return stopping_.load(); });
    }
  }
}

absl::Status ShardedRun::RunAttempt(uint32_t index, const ResolvedServer& server,
                                    KeySource& keys, bool check_written, bool* read_any) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) return absl::CancelledError("stopped");
  }
  const absl::Time deadline =
      options_.deadline_seconds > 0
          ? run_start_ + absl::Milliseconds(static_cast<int64_t>(options_.deadline_seconds * 1000))
          : absl::InfiniteFuture();
  auto opened = transport_.Open(server, deadline);
  if (!opened.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    std::cerr << "gather: " << opened.status().message() << "\n";
    return absl::InvalidArgumentError("cannot connect");
  }
  std::unique_ptr<BatchLookupStream> stream = *std::move(opened);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // StopAll() ran while the call was being opened: end it like the others.
    if (stopping_.load()) stream->Cancel();
    active_.insert(stream.get());
  }
  SendResult sent;
  std::atomic<bool> reader_done{false};
  std::thread sender([&] { Send(index, *stream, keys, check_written, reader_done, sent); });

  Shard& shard = shards_[index];
  v1::BatchLookupResponse response;
  while (stream->Read(&response)) {
    established_.store(true);
    if (response.has_results()) {
      if (!sink_->Write(response.results().results(), index, server.address)) {
        StopAll();  // no point fetching what cannot be written
      }
    } else if (response.has_summary()) {
      std::lock_guard<std::mutex> lock(mu_);
      server_rates_[server.address] = response.summary().rate();
      keys_waited_ += response.summary().keys_waited();
      if (response.summary().has_quota_left()) quota_left_ = response.summary().quota_left();
      retry_wait_ += absl::Milliseconds(response.summary().retry_wait_ms());
    }
  }
  reader_done.store(true);  // a sender still reading keys for a finished stream stops
  sink_->EndStream(index);   // a key whose last row did not come is asked again
  sender.join();
  *read_any = sent.read_any;
  absl::Status status = stream->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.erase(stream.get());
  }
  if (!sent.read_error.ok()) {
    SetReadError(sent.read_error);
    return absl::CancelledError("reading --keys failed");
  }
  if (sent.complete) {
    shard.input_complete = true;
    shard.total = sent.total;
    shard.skipped = sent.skipped;
  } else if (!shard.input_complete) {
    shard.total = std::max(shard.total, sent.total);  // "at least"
    shard.skipped = std::max(shard.skipped, sent.skipped);
  }
  return status;
}

void ShardedRun::Send(uint32_t index, BatchLookupStream& stream, KeySource& keys,
                      bool check_written, const std::atomic<bool>& reader_done,
                      SendResult& result) {
  const uint32_t shards = static_cast<uint32_t>(shards_.size());
  v1::BatchLookupRequest message;
  *message.mutable_spec() = spec_;
  if (shards > 1) {
    // The run's rate is shared by its shards (gatherd's host bucket also takes the lowest
    // rate of the calls on it, so shards that land on one server stay within the total).
    auto* policy = message.mutable_spec()->mutable_policy();
    if (policy->rate() > 0) policy->set_rate(policy->rate() / shards);
    if (policy->burst() > 0) policy->set_burst(std::max<uint32_t>(1, policy->burst() / shards));
  }
  if (!stream.Write(message)) return;
  message.Clear();
  v1::KeyBatch* batch = message.mutable_keys();
  size_t batch_bytes = 0;
  uint64_t seq = 0;
  KeyRow row;
  bool broken = false;
  auto flush = [&] {
    if (batch->keys_size() == 0) return true;
    if (!stream.Write(message)) return false;
    batch->mutable_keys()->Clear();
    batch_bytes = 0;
    return true;
  };
  result.read_any = true;
  for (; !stopping_.load() && !reader_done.load() && keys.Next(row); ++seq) {
    std::string& key = row.key;
    if (shards > 1 && ShardOf(key, shards) != index) continue;
    if (done_.Test(seq)) {
      ++result.skipped;
      continue;
    }
    ++result.total;
    if (check_written && sink_->Written(seq)) continue;
    if (!row.error.empty()) {
      sink_->WriteLocal(seq, key.size() > kMaxKeyBytes ? key.substr(0, 64) : key,
                        std::move(row.error), index);
      continue;
    }
    if (key.size() > kMaxKeyBytes || !IsValidUtf8(key)) {
      sink_->WriteLocal(seq, key.size() > kMaxKeyBytes ? key.substr(0, 64) : key,
                        key.size() > kMaxKeyBytes
                            ? absl::StrCat("key of ", key.size(), " bytes is too long")
                            : std::string("key is not valid UTF-8"),
                        index);
      continue;
    }
    v1::Key* entry = batch->add_keys();
    entry->set_seq(seq);
    batch_bytes += 2 * key.size() + 8;  // a row's columns weigh about what its key does
    for (auto& [name, value] : row.columns) {
      v1::Column* column = entry->add_columns();
      column->set_name(std::move(name));
      column->set_value(std::move(value));
    }
    entry->set_key(std::move(key));
    if (batch->keys_size() >= static_cast<int>(options_.keys_per_message) ||
        batch_bytes >= kMaxKeyMessageBytes) {
      if (!flush()) {
        broken = true;
        break;
      }
    }
  }
  if (!broken && !flush()) broken = true;
  result.read_error = keys.status();
  if (!result.read_error.ok()) {
    // gatherd would wait for the rest of the keys: end the call.
    stream.Cancel();
    return;
  }
  if (!broken && !stopping_.load() && !reader_done.load()) {
    result.complete = true;
    stream.WritesDone();
  }
}

void ShardedRun::StopAll() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_.store(true);
  for (BatchLookupStream* stream : active_) stream->Cancel();
  stop_cv_.notify_all();
}

void ShardedRun::Fail(const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fatal_) fatal_ = status;
  }
  StopAll();
}

void ShardedRun::SetReadError(const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (read_error_.ok()) read_error_ = status;
  }
  StopAll();
}

}  // namespace gather::client

