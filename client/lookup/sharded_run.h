// One run of `gather lookup` over one or more servers: K shards, each streaming its share of the
// keys (ShardOf) to a server and, when the stream breaks, reconnecting (after a backoff, to the
// next server) and sending the keys of its share that have no row yet, until every key of the
// share has its row or the run gives up.
#ifndef GATHER_CLIENT_LOOKUP_SHARDED_RUN_H_
#define GATHER_CLIENT_LOOKUP_SHARDED_RUN_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/lookup/key_source.h"
#include "client/lookup/lookup_transport.h"
#include "client/lookup/options.h"
#include "client/lookup/resume.h"
#include "client/lookup/row_sink.h"
#include "client/lookup/shards.h"
#include "gather/v1/gather.pb.h"

namespace gather::client {

// Owns the shards' state, the first KeySource and the list of servers; borrows the options, the
// spec, the rows of earlier runs (`done`), the transport and, during Run(), the sink.
// Threads: Run() (the caller's) starts and joins one thread per shard; a shard thread reads its
// stream's rows into the sink and, when the stream ends early, reconnects; for each attempt it
// starts a sender thread that writes the spec and the keys. mu_ guards the shared state below
// it. Which failures end the run (fatal()) and which are retried: see RunShard in the .cc.
class ShardedRun {
 public:
  ShardedRun(const LookupOptions& options, const v1::LookupSpec& spec,
             std::vector<ServerTarget> targets, std::vector<ResolvedServer> servers,
             const SeqBitmap& done, std::unique_ptr<KeySource> keys,
             KeysInput keys_input, LookupTransport& transport);
  ShardedRun(const ShardedRun&) = delete;
  ShardedRun& operator=(const ShardedRun&) = delete;

  // Connects to every server before Run(): an error (bad TLS or token flags) names the flag.
  absl::Status Connect();

  // Runs every shard to its end (done, or given up) and writes into `sink`.
  void Run(uint32_t shards, RowSink& sink);

  // After Run(): whether every key of every shard has its row.
  bool complete() const;
  // Keys the shards were given (the whole share of every shard that read its input to the end).
  uint64_t expected() const;
  bool input_complete() const;
  // Keys done by earlier runs (skipped).
  uint64_t skipped() const;
  // The rates the servers reported (one per server: shards on one server share its bucket).
  double rate() const;
  uint64_t reconnects() const { return reconnects_; }
  // Keys whose retries waited for a host's retry budget, and their total wait (summaries).
  uint64_t keys_waited() const {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_waited_;
  }
  // The template host's quota left, from the last summary that had one.
  std::optional<int64_t> quota_left() const {
    std::lock_guard<std::mutex> lock(mu_);
    return quota_left_;
  }
  absl::Duration retry_wait() const {
    std::lock_guard<std::mutex> lock(mu_);
    return retry_wait_;
  }
  size_t servers_used() const { return servers_.size(); }
  // Why the run gave up (the status of the stream that ended it), if it did.
  const std::optional<absl::Status>& fatal() const { return fatal_; }
  // Reading --keys failed.
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

  // The servers to use now: dns:/// targets are resolved again after a failure, so a rolling
  // update's new pods are found.
  std::vector<ResolvedServer> CurrentServers(bool refresh);
  // Shard thread: attempts until the share is done or the run gives up.
  void RunShard(uint32_t index);
  // Shard thread: one stream of shard `index` to `server`. Sends the share's keys that have no
  // row (this run's rows are checked when `check_written`), writes the rows, returns how it
  // ended. `read_any`: whether the attempt took any key from `keys`.
  absl::Status RunAttempt(uint32_t index, const ResolvedServer& server, KeySource& keys,
                          bool check_written, bool* read_any);
  // Sender thread of one attempt: the spec, then key messages, then the half-close. Stops early
  // when the run stops or the stream's reader has ended (the server finished the call).
  void Send(uint32_t index, BatchLookupStream& stream, KeySource& keys, bool check_written,
            const std::atomic<bool>& reader_done, SendResult& result);
  // Ends the run: no more attempts, every open stream cancelled.
  void StopAll();
  void Fail(const absl::Status& status);
  void SetReadError(const absl::Status& status);

  const LookupOptions& options_;
  const v1::LookupSpec& spec_;
  const std::vector<ServerTarget> targets_;
  bool dns_ = false;
  const SeqBitmap& done_;  // rows of earlier runs; read-only during the run
  std::unique_ptr<KeySource> first_keys_;
  const KeysInput keys_input_;
  LookupTransport& transport_;
  absl::Time run_start_;  // set by Run(): --deadline counts from there
  RowSink* sink_ = nullptr;
  std::vector<Shard> shards_;  // sized before the threads start; shard i written by thread i
  std::atomic<bool> stopping_{false};
  std::atomic<bool> established_{false};  // some stream of the run has received a message

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  std::vector<ResolvedServer> servers_;
  std::map<std::string, double> server_rates_;  // from each server's last summary
  uint64_t keys_waited_ = 0;
  std::optional<int64_t> quota_left_;
  absl::Duration retry_wait_ = absl::ZeroDuration();
  std::set<BatchLookupStream*> active_;
  std::optional<absl::Status> fatal_;
  absl::Status read_error_;
  uint64_t reconnects_ = 0;
  absl::BitGen bitgen_;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_SHARDED_RUN_H_
