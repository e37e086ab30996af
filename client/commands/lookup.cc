#include "client/commands/lookup.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/commands/common.h"
#include "client/io/output_file.h"
#include "client/io/text.h"
#include "client/lookup/key_source.h"
#include "client/lookup/resume.h"
#include "client/lookup/shards.h"
#include "client/output/progress.h"
#include "gather/v1/gather.grpc.pb.h"
#include "common/json_pointer.h"
#include "common/url_template.h"

namespace gather::client {
namespace {

// Keys longer than this are not sent (no URL can hold them); their line gets INVALID_KEY.
constexpr size_t kMaxKeyBytes = 1 << 20;
// A key message is sent when it holds keys_per_message keys or this many bytes.
constexpr size_t kMaxKeyMessageBytes = 1 << 20;

constexpr uint32_t kMaxShards = 1024;

using LookupStream = grpc::ClientReaderWriter<v1::BatchLookupRequest, v1::BatchLookupResponse>;

// The output side of a run: every row from every shard's stream is written once (by seq) to the
// output files, with the counts the summary and the exit code need, and the progress line.
// Threads: each shard's reader (Write) and sender (WriteLocal, Written); mu_ guards all of it.
class RowSink {
 public:
  RowSink(const LookupOptions& options, bool csv, const std::vector<std::string>& field_names,
          OutputFile& out, OutputFile* errors_file, Progress& progress)
      : options_(options), csv_(csv), field_names_(field_names), out_(out),
        errors_file_(errors_file), progress_(progress) {}

  // The rows of one message of `shard`'s stream to `server`. False once the output failed.
  bool Write(const google::protobuf::RepeatedPtrField<v1::LookupResult>& rows, uint32_t shard,
             const std::string& server) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const v1::LookupResult& row : rows) WriteRowLocked(row, shard, &server);
    absl::Time now = absl::Now();
    FlushLocked(now, false);
    progress_.Update(rows_, failed_, now);
    return write_error_.ok();
  }
  // A row made by the CLI itself (a key that cannot be sent).
  void WriteLocal(uint64_t seq, const std::string& key, std::string error, uint32_t shard) {
    v1::LookupResult row;
    row.set_seq(seq);
    row.set_key(SanitizeUtf8(key));
    row.set_status(v1::JOB_STATUS_INVALID_KEY);
    row.set_error(std::move(error));
    std::lock_guard<std::mutex> lock(mu_);
    WriteRowLocked(row, shard, nullptr);
  }
  // Whether this run already wrote the row of `seq`.
  bool Written(uint64_t seq) {
    std::lock_guard<std::mutex> lock(mu_);
    return written_.Test(seq);
  }
  uint64_t shard_rows(uint32_t shard) {
    std::lock_guard<std::mutex> lock(mu_);
    return shard < rows_by_shard_.size() ? rows_by_shard_[shard] : 0;
  }
  void Flush(absl::Time now, bool force) {
    std::lock_guard<std::mutex> lock(mu_);
    FlushLocked(now, force);
  }
  void Finish(absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    progress_.Finish(rows_, failed_, now);
  }

  // Read after every stream has ended.
  uint64_t rows() const { return rows_; }
  uint64_t failed() const { return failed_; }
  uint64_t cancelled() const { return cancelled_; }
  uint64_t duplicates() const { return duplicates_; }
  const std::array<uint64_t, v1::JobStatus_ARRAYSIZE>& counts() const { return counts_; }
  const std::map<std::string, uint64_t>& rows_by_server() const { return rows_by_server_; }
  absl::Status write_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return write_error_;
  }

 private:
  void WriteRowLocked(const v1::LookupResult& row, uint32_t shard, const std::string* server) {
    if (row.status() == v1::JOB_STATUS_CANCELLED) {
      ++cancelled_;  // not final: the key is fetched again (another attempt, or --resume)
      return;
    }
    if (!written_.Set(row.seq())) {
      ++duplicates_;
      return;
    }
    ++rows_;
    if (shard >= rows_by_shard_.size()) rows_by_shard_.resize(shard + 1);
    ++rows_by_shard_[shard];
    if (server != nullptr) ++rows_by_server_[*server];
    if (row.status() >= 0 && row.status() < v1::JobStatus_ARRAYSIZE) ++counts_[row.status()];
    if (!IsSuccess(row.status())) ++failed_;
    const bool ok = row.status() == v1::JOB_STATUS_OK;
    if (!csv_) {
      OutputFile& target = ok || errors_file_ == nullptr ? out_ : *errors_file_;
      AppendJsonlRow(row, field_names_, target.buffer());
    } else if (ok) {
      AppendCsvRow(row, field_names_.size(), out_.buffer());
    } else if (errors_file_ != nullptr) {
      AppendCsvErrorRow(row, errors_file_->buffer());
    } else if (!IsSuccess(row.status()) || !options_.quiet) {
      std::cerr << "gather lookup: seq " << row.seq() << ": " << StatusName(row.status())
                << (row.error().empty() ? "" : ": ") << row.error() << "\n";
    }
  }
  void FlushLocked(absl::Time now, bool force) {
    if (!write_error_.ok()) return;
    absl::Status status = force ? out_.Flush() : out_.MaybeFlush(now);
    if (status.ok() && errors_file_ != nullptr) {
      status = force ? errors_file_->Flush() : errors_file_->MaybeFlush(now);
    }
    if (!status.ok()) write_error_ = status;
  }

  const LookupOptions& options_;
  const bool csv_;
  const std::vector<std::string>& field_names_;
  std::mutex mu_;
  OutputFile& out_;
  OutputFile* errors_file_;  // null: none
  Progress& progress_;
  SeqBitmap written_;  // this run's rows: a row sent twice (or by two attempts) is written once
  std::array<uint64_t, v1::JobStatus_ARRAYSIZE> counts_{};
  uint64_t rows_ = 0;
  uint64_t failed_ = 0;
  uint64_t cancelled_ = 0;
  uint64_t duplicates_ = 0;
  std::vector<uint64_t> rows_by_shard_;
  std::map<std::string, uint64_t> rows_by_server_;
  absl::Status write_error_;
};

// One run of `gather lookup` over one or more servers: K shards, each a thread that streams its
// share of the keys to a server and, when the stream breaks, reconnects (after a backoff, to the
// next server) and sends the keys of its share that have no row yet, until every key of the
// share has its row. Threads: Run() (the caller's) starts and joins the shard threads; each
// shard thread starts one sender thread per attempt. mu_ guards the shared state below it.
class ShardedRun {
 public:
  ShardedRun(const LookupOptions& options, const v1::LookupSpec& spec,
             std::vector<ServerTarget> targets, std::vector<ResolvedServer> servers,
             const SeqBitmap& done, std::unique_ptr<KeySource> keys,
             std::optional<std::string> key_column)
      : options_(options), spec_(spec), targets_(std::move(targets)), done_(done),
        first_keys_(std::move(keys)), key_column_(std::move(key_column)),
        servers_(std::move(servers)) {
    for (const ServerTarget& target : targets_) dns_ |= target.dns;
  }

  // Opens a channel to every server; kExitUsage (with the reason on stderr) when the TLS or
  // token flags are wrong.
  // Called before Run().
  int Connect() {
    for (const ResolvedServer& server : servers_) {
      if (ChannelFor(server) == nullptr) return kExitUsage;
    }
    if (!connections_.empty()) token_ = connections_.begin()->second.token;
    return kExitOk;
  }

  // Runs every shard to its end (done, or given up) and writes into `sink`.
  void Run(uint32_t shards, RowSink& sink) {
    sink_ = &sink;
    run_start_ = std::chrono::system_clock::now();
    shards_.assign(shards, Shard{});
    std::vector<std::thread> threads;
    threads.reserve(shards);
    for (uint32_t i = 0; i < shards; ++i) threads.emplace_back([this, i] { RunShard(i); });
    for (std::thread& thread : threads) thread.join();
  }

  // After Run().
  bool complete() const {
    if (fatal_) return false;
    for (const Shard& shard : shards_) {
      if (!shard.done) return false;
    }
    return true;
  }
  // Keys the shards were given (the whole share of every shard that read its input to the end).
  uint64_t expected() const {
    uint64_t total = 0;
    for (const Shard& shard : shards_) total += shard.total;
    return total;
  }
  bool input_complete() const {
    for (const Shard& shard : shards_) {
      if (!shard.input_complete) return false;
    }
    return true;
  }
  uint64_t skipped() const {
    uint64_t total = 0;
    for (const Shard& shard : shards_) total += shard.skipped;
    return total;
  }
  // The rates the servers reported (one per server: shards on one server share its bucket).
  double rate() const {
    double total = 0;
    for (const auto& [server, rate] : server_rates_) total += rate;
    return total;
  }
  uint64_t reconnects() const { return reconnects_; }
  size_t servers_used() const { return servers_.size(); }
  const std::optional<grpc::Status>& fatal() const { return fatal_; }
  const absl::Status& read_error() const { return read_error_; }

 private:
  struct Shard {
    uint64_t total = 0;          // keys of this share not done by earlier runs
    uint64_t skipped = 0;        // keys of this share done by earlier runs
    bool input_complete = false; // an attempt read the whole input
    bool done = false;           // every key of the share has its row
  };
  // What an attempt's sender saw.
  struct SendResult {
    uint64_t total = 0;
    uint64_t skipped = 0;
    bool complete = false;  // read the whole input and half-closed
    bool read_any = false;  // took keys from the source (stdin cannot be read again)
    absl::Status read_error;
  };

  // The channel to `server`, opened on first use (mu_ is held while a new one is opened: that
  // reads the TLS and token files, once per address).
  std::shared_ptr<grpc::Channel> ChannelFor(const ResolvedServer& server) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = connections_.find(server.address);
    if (it != connections_.end()) return it->second.channel;
    ConnectionOptions connection_options = options_.connection;
    connection_options.server = server.address;
    // A resolved dns:/// address is an IP: TLS must still expect the name.
    if (connection_options.server_name.empty()) connection_options.server_name = server.dns_name;
    auto connection = gather::client::Connect(connection_options);
    if (!connection.ok()) {
      std::cerr << "gather: " << connection.status().message() << "\n";
      return nullptr;
    }
    auto channel = connection->channel;
    connections_.emplace(server.address, *std::move(connection));
    return channel;
  }

  // The servers to use now: dns:/// targets are resolved again after a failure, so a rolling
  // update's new pods are found.
  std::vector<ResolvedServer> CurrentServers(bool refresh) {
    if (refresh && dns_) {
      auto resolved = ResolveServers(targets_);
      std::lock_guard<std::mutex> lock(mu_);
      if (resolved.ok()) servers_ = *std::move(resolved);
    }
    std::lock_guard<std::mutex> lock(mu_);
    return servers_;
  }

  void RunShard(uint32_t index) {
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
        Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "the stream broke and --keys - (stdin) cannot be read again"));
        return;
      } else {
        auto opened = KeySource::Open(options_.keys, key_column_);
        if (!opened.ok()) {
          SetReadError(opened.status());
          return;
        }
        keys = *std::move(opened);
      }
      bool read_any = false;
      grpc::Status status =
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
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the server ended the stream before every key had its row");
      }
      // Until some stream of the run has answered, a failure is more likely a wrong address or
      // TLS setting than a restart: try each other server once, then give up at once. A server
      // that is full (RESOURCE_EXHAUSTED) is waited for instead.
      const bool established = established_.load();
      if (!IsReconnectable(status.error_code()) ||
          (!established && status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED &&
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
                  << " ended (" << StatusName(status) << (status.error_message().empty() ? "" : ": ")
                  << status.error_message() << "); reconnecting to "
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

  static std::string StatusName(const grpc::Status& status) {
    static constexpr const char* kNames[] = {
        "OK",        "CANCELLED",          "UNKNOWN",         "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",  "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",     "DATA_LOSS",
        "UNAUTHENTICATED"};
    int code = static_cast<int>(status.error_code());
    return code >= 0 && code < 17 ? kNames[code] : absl::StrCat("code ", code);
  }

  // One stream of shard `index` to `server`: sends the share's keys that have no row (this
  // run's rows are checked when `check_written`), writes the rows, returns how it ended.
  // `read_any`: whether the attempt took any key from `keys`.
  grpc::Status RunAttempt(uint32_t index, const ResolvedServer& server, KeySource& keys,
                          bool check_written, bool* read_any) {
    std::shared_ptr<grpc::Channel> channel = ChannelFor(server);
    if (channel == nullptr) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cannot connect");
    }
    auto stub = v1::Gather::NewStub(channel);
    grpc::ClientContext context;
    if (!token_.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    if (options_.deadline_seconds > 0) {
      context.set_deadline(run_start_ + std::chrono::milliseconds(static_cast<int64_t>(
                                            options_.deadline_seconds * 1000)));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_.load()) return grpc::Status(grpc::StatusCode::CANCELLED, "stopped");
      active_.insert(&context);
    }
    std::unique_ptr<LookupStream> stream = stub->BatchLookup(&context);
    SendResult sent;
    std::atomic<bool> reader_done{false};
    std::thread sender(
        [&] { Send(index, *stream, context, keys, check_written, reader_done, sent); });

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
      }
    }
    reader_done.store(true);  // a sender still reading keys for a finished stream stops
    sender.join();
    *read_any = sent.read_any;
    grpc::Status status = stream->Finish();
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_.erase(&context);
    }
    if (!sent.read_error.ok()) {
      SetReadError(sent.read_error);
      return grpc::Status(grpc::StatusCode::CANCELLED, "reading --keys failed");
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

  // The sender of one attempt: the spec, then key messages, then the half-close. Stops early
  // when the run stops or the stream's reader has ended (the server finished the call).
  void Send(uint32_t index, LookupStream& stream, grpc::ClientContext& context, KeySource& keys,
            bool check_written, const std::atomic<bool>& reader_done, SendResult& result) {
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
    std::string key;
    bool broken = false;
    auto flush = [&] {
      if (batch->keys_size() == 0) return true;
      if (!stream.Write(message)) return false;
      batch->mutable_keys()->Clear();
      batch_bytes = 0;
      return true;
    };
    result.read_any = true;
    for (; !stopping_.load() && !reader_done.load() && keys.Next(key); ++seq) {
      if (shards > 1 && ShardOf(key, shards) != index) continue;
      if (done_.Test(seq)) {
        ++result.skipped;
        continue;
      }
      ++result.total;
      if (check_written && sink_->Written(seq)) continue;
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
      batch_bytes += key.size() + 8;
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
      context.TryCancel();
      return;
    }
    if (!broken && !stopping_.load() && !reader_done.load()) {
      result.complete = true;
      stream.WritesDone();
    }
  }

  // Ends the run: no more attempts, every open stream cancelled.
  void StopAll() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
    for (grpc::ClientContext* context : active_) context->TryCancel();
    stop_cv_.notify_all();
  }
  void Fail(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!fatal_) fatal_ = status;
    }
    StopAll();
  }
  void SetReadError(const absl::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (read_error_.ok()) read_error_ = status;
    }
    StopAll();
  }

  const LookupOptions& options_;
  const v1::LookupSpec& spec_;
  const std::vector<ServerTarget> targets_;
  bool dns_ = false;
  const SeqBitmap& done_;  // rows of earlier runs; read-only during the run
  std::unique_ptr<KeySource> first_keys_;
  const std::optional<std::string> key_column_;
  std::chrono::system_clock::time_point run_start_;  // set by Run(): --deadline counts from there
  RowSink* sink_ = nullptr;
  std::vector<Shard> shards_;  // sized before the threads start; shard i written by thread i
  std::atomic<bool> stopping_{false};
  std::atomic<bool> established_{false};  // some stream of the run has received a message

  std::mutex mu_;
  std::condition_variable stop_cv_;
  std::vector<ResolvedServer> servers_;
  std::map<std::string, Connection> connections_;
  std::string token_;  // set by Connect(), then read-only
  std::map<std::string, double> server_rates_;  // from each server's last summary
  std::set<grpc::ClientContext*> active_;
  std::optional<grpc::Status> fatal_;
  absl::Status read_error_;
  uint64_t reconnects_ = 0;
  absl::BitGen bitgen_;
};

std::string DefaultErrorsPath(const std::string& out) {
  if (absl::EndsWith(out, ".csv")) return absl::StrCat(out.substr(0, out.size() - 4), ".errors.csv");
  return absl::StrCat(out, ".errors.csv");
}

}  // namespace

absl::StatusOr<v1::LookupSpec> BuildLookupSpec(const LookupOptions& options,
                                               std::vector<std::string>* field_names) {
  v1::LookupSpec spec;
  if (options.url_template.empty()) return absl::InvalidArgumentError("--template is required");
  if (auto parsed = common::UrlTemplate::ParseSyntax(options.url_template); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--template: ", parsed.status().message()));
  }
  spec.set_url_template(options.url_template);
  spec.set_method(absl::AsciiStrToUpper(options.method));
  for (const std::string& text : options.fields) {
    size_t equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--field \"", text, "\": expected NAME=/json/pointer"));
    }
    std::string name = text.substr(0, equals);
    std::string pointer = text.substr(equals + 1);
    if (auto parsed = common::ParseJsonPointer(pointer); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--field ", name, ": ", parsed.status().message()));
    }
    for (const std::string& existing : *field_names) {
      if (existing == name) {
        return absl::InvalidArgumentError(absl::StrCat("--field ", name, ": given twice"));
      }
    }
    if (name == "seq" || name == "key") {
      return absl::InvalidArgumentError(
          absl::StrCat("--field ", name, ": the name is taken by the output's own column"));
    }
    v1::Field* field = spec.add_fields();
    field->set_name(name);
    field->set_pointer(pointer);
    field_names->push_back(std::move(name));
  }
  for (const std::string& pointer : options.required) {
    if (auto parsed = common::ParseJsonPointer(pointer); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--require \"", pointer, "\": ", parsed.status().message()));
    }
    spec.add_required(pointer);
  }
  for (const std::string& text : options.headers) {
    auto header = ParseHeaderFlag(text);
    if (!header.ok()) return header.status();
    *spec.add_headers() = *std::move(header);
  }
  spec.set_credential(options.credential);
  if (options.timeout_seconds < 0) return absl::InvalidArgumentError("--timeout must be >= 0");
  if (options.deadline_seconds < 0) return absl::InvalidArgumentError("--deadline must be >= 0");
  spec.mutable_policy()->set_concurrency(options.concurrency);
  spec.mutable_policy()->set_timeout_seconds(options.timeout_seconds);
  spec.mutable_policy()->set_max_body_bytes(options.max_body_bytes);
  if (options.rate == "auto") {
    spec.mutable_policy()->set_rate_auto(true);
  } else if (!options.rate.empty()) {
    double rate = 0;
    if (!absl::SimpleAtod(options.rate, &rate) || !(rate >= 0) || std::isinf(rate)) {
      return absl::InvalidArgumentError("--rate must be a number of requests per second or auto");
    }
    spec.mutable_policy()->set_rate(rate);
  }
  if (options.burst > 0 && options.rate.empty()) {
    return absl::InvalidArgumentError("--burst needs --rate");
  }
  spec.mutable_policy()->set_burst(options.burst);
  spec.mutable_policy()->set_max_attempts(options.max_attempts);
  spec.mutable_policy()->set_no_coalescing(options.no_coalesce);
  if (options.hedge == "auto") {
    spec.mutable_policy()->set_hedge_auto(true);
  } else if (!options.hedge.empty()) {
    double ms = 0;
    if (!absl::SimpleAtod(options.hedge, &ms) || !(ms > 0) || std::isinf(ms)) {
      return absl::InvalidArgumentError("--hedge must be a delay in milliseconds or auto");
    }
    spec.mutable_policy()->set_hedge_after_ms(ms);
  }
  return spec;
}

absl::StatusOr<OutputPlan> ResolveOutputs(const LookupOptions& options) {
  OutputPlan plan;
  std::string format = absl::AsciiStrToLower(options.format);
  if (format.empty()) format = absl::EndsWith(options.out, ".csv") ? "csv" : "jsonl";
  if (format == "jsonl") {
    plan.format = OutputFormat::kJsonl;
  } else if (format == "csv") {
    plan.format = OutputFormat::kCsv;
  } else {
    return absl::InvalidArgumentError("--format must be jsonl or csv");
  }
  plan.out = options.out.empty() ? "-" : options.out;
  plan.errors = options.errors;
  if (plan.errors.empty() && plan.format == OutputFormat::kCsv && plan.out != "-") {
    plan.errors = DefaultErrorsPath(plan.out);
  }
  if (!plan.errors.empty() && plan.errors == plan.out) {
    return absl::InvalidArgumentError("--errors must differ from --out");
  }
  if (options.resume && plan.out == "-") {
    return absl::InvalidArgumentError("--resume needs --out FILE (it reads what is already there)");
  }
  if (options.resume && plan.errors == "-") {
    return absl::InvalidArgumentError("--resume needs --errors to be a file");
  }
  return plan;
}

int RunLookup(const LookupOptions& options) {
  const absl::Time start = absl::Now();
  std::vector<std::string> field_names;
  auto spec = BuildLookupSpec(options, &field_names);
  if (!spec.ok()) {
    std::cerr << "gather lookup: " << spec.status().message() << "\n";
    return kExitUsage;
  }
  auto outputs = ResolveOutputs(options);
  if (!outputs.ok()) {
    std::cerr << "gather lookup: " << outputs.status().message() << "\n";
    return kExitUsage;
  }
  auto targets = ParseServerList(options.connection.server);
  if (!targets.ok()) {
    std::cerr << "gather lookup: " << targets.status().message() << "\n";
    return kExitUsage;
  }
  if (options.keys_per_message == 0) {
    std::cerr << "gather lookup: --keys-per-message must be positive\n";
    return kExitUsage;
  }
  const OutputFormat format = outputs->format;
  const bool csv = format == OutputFormat::kCsv;
  std::optional<std::string> key_column;
  if (!options.key_column.empty()) key_column = options.key_column;
  auto keys = KeySource::Open(options.keys, key_column);
  if (!keys.ok()) {
    std::cerr << "gather lookup: " << keys.status().message() << "\n";
    return kExitUsage;
  }
  auto servers = ResolveServers(*targets);
  if (!servers.ok()) {
    std::cerr << "gather lookup: " << servers.status().message() << "\n";
    return kExitRpcFailed;
  }
  const uint32_t shards =
      options.shards > 0 ? options.shards : static_cast<uint32_t>(servers->size());
  if (shards > kMaxShards) {
    std::cerr << "gather lookup: --shards must be at most " << kMaxShards << "\n";
    return kExitUsage;
  }
  if (shards > 1 && options.keys == "-") {
    std::cerr << "gather lookup: --shards " << shards
              << " reads the keys once per shard: give --keys a file, not stdin\n";
    return kExitUsage;
  }
  SeqBitmap done;  // rows of earlier runs (--resume)
  ShardedRun run(options, *spec, *std::move(targets), *std::move(servers), done,
                 *std::move(keys), key_column);
  if (int usage = run.Connect(); usage != kExitOk) return usage;

  std::vector<std::string> csv_header{"seq", "key"};
  csv_header.insert(csv_header.end(), field_names.begin(), field_names.end());
  const std::vector<std::string> csv_error_header{"seq",         "key",      "status",
                                                  "http_status", "attempts", "error"};

  // ---- resume: what earlier runs finished ----
  bool out_has_header = false;
  bool errors_has_header = false;
  if (options.resume) {
    for (int which = 0; which < 2; ++which) {
      const std::string& path = which == 0 ? outputs->out : outputs->errors;
      if (path.empty()) continue;
      const bool errors_csv = which == 1 && csv;
      auto scan = ScanOutput(path, format, errors_csv ? csv_error_header : csv_header, done);
      if (!scan.ok()) {
        std::cerr << "gather lookup: " << scan.status().message() << "\n";
        return kExitUsage;
      }
      (which == 0 ? out_has_header : errors_has_header) = scan->has_header;
      if (!options.quiet) {
        std::cerr << "gather lookup: resuming: " << scan->rows << " rows in " << path;
        if (scan->torn_bytes > 0) std::cerr << " (cut a torn last line of " << scan->torn_bytes << " bytes)";
        if (scan->duplicates > 0) std::cerr << " (" << scan->duplicates << " duplicate rows)";
        std::cerr << "\n";
      }
    }
  }

  OutputFile out(outputs->out, options.resume);
  std::optional<OutputFile> errors_file;
  if (!outputs->errors.empty()) errors_file.emplace(outputs->errors, options.resume);
  if (csv && !out_has_header) AppendCsvHeader(field_names, out.buffer());
  if (csv && errors_file && !errors_has_header) AppendCsvErrorHeader(errors_file->buffer());

  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const bool show_progress = (terminal && !options.quiet) || options.progress;
  std::optional<uint64_t> total;
  if (show_progress) total = KeySource::Count(options.keys, key_column);
  Progress progress(show_progress, terminal, total, done.count(), start);

  // ---- the calls: one stream per shard, each on its own thread ----
  RowSink sink(options, csv, field_names, out, errors_file ? &*errors_file : nullptr, progress);
  run.Run(shards, sink);
  const absl::Time end = absl::Now();
  sink.Finish(end);

  const std::optional<grpc::Status>& fatal = run.fatal();
  if (fatal && sink.rows() == 0) {
    // Nothing was fetched (refused request, server unreachable): leave no output behind.
    int code = ReportRpcError(*fatal, options.connection.server);
    if (code != kExitUsage && outputs->out != "-") {
      std::cerr << "gather lookup: no rows were written; rerun the same command"
                << (options.resume ? "" : " (add --resume if earlier runs wrote rows)") << "\n";
    }
    return code;
  }
  sink.Flush(end, /*force=*/true);
  if (!sink.write_error().ok()) {
    std::cerr << "gather lookup: " << sink.write_error().message() << "\n";
    return kExitRpcFailed;
  }
  if (!run.read_error().ok()) {
    std::cerr << "gather lookup: reading --keys: " << run.read_error().message() << "\n";
    return kExitRpcFailed;
  }

  const bool all_rows = run.complete();
  if (!options.quiet || !all_rows) {
    double seconds = absl::ToDoubleSeconds(end - start);
    std::cerr << "gather lookup: " << sink.rows() << " rows in " << absl::StrFormat("%.1f", seconds)
              << " s ("
              << absl::StrFormat("%.0f", seconds > 0 ? static_cast<double>(sink.rows()) / seconds
                                                     : 0.0)
              << "/s)";
    const char* separator = ": ";
    for (int s = 0; s < v1::JobStatus_ARRAYSIZE; ++s) {
      if (sink.counts()[s] == 0) continue;
      std::cerr << separator << StatusName(static_cast<v1::JobStatus>(s)) << " "
                << sink.counts()[s];
      separator = ", ";
    }
    if (run.skipped() > 0) std::cerr << "; " << run.skipped() << " done earlier";
    if (double rate = run.rate(); rate > 0) {
      std::cerr << "; rate " << absl::StrFormat("%.0f", rate) << "/s"
                << (options.rate == "auto" ? " (found)" : "");
    }
    if (run.reconnects() > 0) std::cerr << "; " << run.reconnects() << " reconnects";
    std::cerr << "\n";
    if (run.servers_used() > 1 || shards > 1) {
      std::cerr << "gather lookup: " << shards << " shards; rows by server:";
      for (const auto& [server, count] : sink.rows_by_server()) {
        std::cerr << " " << server << " " << count;
      }
      std::cerr << "\n";
    }
    if (sink.failed() > 0 && errors_file) {
      std::cerr << "gather lookup: keys that did not end OK are in " << errors_file->path() << "\n";
    }
    if (sink.duplicates() > 0) {
      std::cerr << "gather lookup: warning: the server sent " << sink.duplicates()
                << " rows twice; each was written once\n";
    }
  }
  if (!all_rows) {
    const uint64_t expected = run.expected();
    uint64_t missing = expected > sink.rows() ? expected - sink.rows() : 0;
    if (fatal) {
      ReportRpcError(*fatal, options.connection.server);
    } else if (sink.cancelled() > 0) {
      std::cerr << "gather lookup: the server cancelled " << sink.cancelled()
                << " keys (shutting down)\n";
    }
    std::cerr << "gather lookup: stopped after " << sink.rows() << " of "
              << (run.input_complete() ? absl::StrCat(expected)
                                       : absl::StrCat("at least ", expected))
              << " keys (" << missing << " without a final row)";
    if (!outputs->out.empty() && outputs->out != "-") {
      std::cerr << "; rerun with --resume to fetch the rest";
    }
    std::cerr << "\n";
    return fatal && fatal->error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage
                                                                                : kExitRpcFailed;
  }
  return sink.failed() > 0 ? kExitJobsFailed : kExitOk;
}

}  // namespace gather::client
