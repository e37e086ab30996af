// A LookupTransport for tests: each stream answers every key it receives at once with a row
// (as a gatherd with an instant upstream would), and can be told to refuse the call, break after
// some rows, send rows twice, or hold back its writer while its answers are unread (flow
// control). What every stream received is kept for the test to read.
#ifndef GATHER_TESTS_CLIENT_FAKE_LOOKUP_TRANSPORT_H_
#define GATHER_TESTS_CLIENT_FAKE_LOOKUP_TRANSPORT_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/lookup/lookup_transport.h"
#include "client/lookup/shards.h"
#include "gather/v1/gather.pb.h"

namespace gather::client::testing {

// How one stream behaves.
struct FakeStreamPlan {
  absl::Status open_error = absl::OkStatus();  // not OK: Open() fails with it
  // The call ends at once with this, before any row.
  std::optional<absl::Status> refuse = std::nullopt;
  // After this many rows the call ends with break_status (rows already sent still arrive).
  std::optional<uint64_t> break_after_rows = std::nullopt;
  absl::Status break_status = absl::UnavailableError("connection reset by peer");
  size_t window = std::numeric_limits<size_t>::max();  // unread messages before Write blocks
  bool rows_twice = false;  // every row is sent twice
  double rate = 0;          // the summary's rate, sent after the half-close
};

// What one stream received. Written by the stream (under the transport's lock), read by the
// test after the run.
struct FakeStreamLog {
  std::string server;
  absl::Time deadline;
  std::optional<v1::LookupSpec> spec;
  std::vector<std::vector<v1::Key>> key_messages;
  bool writes_done = false;
  bool cancelled = false;
  size_t max_unread = 0;  // the most rows messages waiting for the reader at once

  std::vector<uint64_t> seqs() const {
    std::vector<uint64_t> out;
    for (const auto& message : key_messages) {
      for (const v1::Key& key : message) out.push_back(key.seq());
    }
    return out;
  }
};

class FakeBatchLookupStream : public BatchLookupStream {
 public:
  FakeBatchLookupStream(FakeStreamPlan plan, std::shared_ptr<FakeStreamLog> log,
                        std::mutex& log_mu)
      : plan_(std::move(plan)), log_(std::move(log)), log_mu_(log_mu) {
    if (plan_.refuse) End(*plan_.refuse);
  }

  bool Write(const v1::BatchLookupRequest& request) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ended_ || cancelled_ || unread_.size() < plan_.window; });
    if (ended_ || cancelled_) return false;
    if (request.has_spec()) {
      std::lock_guard<std::mutex> log_lock(log_mu_);
      log_->spec = request.spec();
      return true;
    }
    {
      std::lock_guard<std::mutex> log_lock(log_mu_);
      log_->key_messages.emplace_back(request.keys().keys().begin(), request.keys().keys().end());
    }
    v1::BatchLookupResponse response;
    for (const v1::Key& key : request.keys().keys()) {
      if (plan_.break_after_rows && rows_sent_ >= *plan_.break_after_rows) {
        Push(std::move(response));
        End(plan_.break_status);
        return true;  // sent; the break shows on the next call
      }
      for (int copy = 0; copy < (plan_.rows_twice ? 2 : 1); ++copy) {
        v1::LookupResult* row = response.mutable_results()->add_results();
        row->set_seq(key.seq());
        row->set_key(key.key());
        row->set_status(v1::JOB_STATUS_OK);
        row->set_http_status(200);
        row->set_attempts(1);
      }
      ++rows_sent_;
    }
    Push(std::move(response));
    return true;
  }

  bool WritesDone() override {
    std::lock_guard<std::mutex> lock(mu_);
    {
      std::lock_guard<std::mutex> log_lock(log_mu_);
      log_->writes_done = true;
    }
    if (ended_ || cancelled_) return false;
    v1::BatchLookupResponse summary;
    summary.mutable_summary()->set_rate(plan_.rate);
    Push(std::move(summary));
    End(absl::OkStatus());
    return true;
  }

  bool Read(v1::BatchLookupResponse* response) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !unread_.empty() || ended_ || cancelled_; });
    if (cancelled_ || unread_.empty()) return false;
    *response = std::move(unread_.front());
    unread_.pop_front();
    cv_.notify_all();
    return true;
  }

  absl::Status Finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_ ? final_ : absl::CancelledError("Cancelled");
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    {
      std::lock_guard<std::mutex> log_lock(log_mu_);
      log_->cancelled = true;
    }
    cv_.notify_all();
  }

 private:
  // mu_ held.
  void Push(v1::BatchLookupResponse response) {
    if (!response.has_results() && !response.has_summary()) return;
    const bool rows = response.has_results();
    unread_.push_back(std::move(response));
    cv_.notify_all();
    if (!rows) return;  // the summary is sent whatever the window
    std::lock_guard<std::mutex> log_lock(log_mu_);
    log_->max_unread = std::max(log_->max_unread, unread_.size());
  }
  void End(absl::Status status) {
    if (ended_) return;
    ended_ = true;
    final_ = std::move(status);
    cv_.notify_all();
  }

  const FakeStreamPlan plan_;
  std::shared_ptr<FakeStreamLog> log_;
  std::mutex& log_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::BatchLookupResponse> unread_;
  uint64_t rows_sent_ = 0;
  bool ended_ = false;  // the server ended the call (after the unread messages)
  bool cancelled_ = false;
  absl::Status final_;
};

class FakeLookupTransport : public LookupTransport {
 public:
  // The next streams to `address` follow these plans, in order; later ones the default plan.
  void AddPlan(const std::string& address, FakeStreamPlan plan) {
    std::lock_guard<std::mutex> lock(mu_);
    plans_[address].push_back(std::move(plan));
  }
  void set_default_plan(FakeStreamPlan plan) {
    std::lock_guard<std::mutex> lock(mu_);
    default_plan_ = std::move(plan);
  }
  void set_connect_error(absl::Status status) { connect_error_ = std::move(status); }

  absl::Status Connect(const std::vector<ResolvedServer>& servers) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const ResolvedServer& server : servers) connected_.push_back(server.address);
    return connect_error_;
  }

  absl::StatusOr<std::unique_ptr<BatchLookupStream>> Open(const ResolvedServer& server,
                                                          absl::Time deadline) override {
    std::lock_guard<std::mutex> lock(mu_);
    FakeStreamPlan plan = default_plan_;
    if (auto it = plans_.find(server.address); it != plans_.end() && !it->second.empty()) {
      plan = std::move(it->second.front());
      it->second.pop_front();
    }
    if (!plan.open_error.ok()) return plan.open_error;
    auto log = std::make_shared<FakeStreamLog>();
    log->server = server.address;
    log->deadline = deadline;
    logs_.push_back(log);
    return std::make_unique<FakeBatchLookupStream>(std::move(plan), std::move(log), mu_);
  }

  // Every stream opened, in order. After the run.
  std::vector<std::shared_ptr<FakeStreamLog>> logs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }
  std::vector<std::string> connected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connected_;
  }

 private:
  mutable std::mutex mu_;  // also guards every stream's log
  std::map<std::string, std::deque<FakeStreamPlan>> plans_;
  FakeStreamPlan default_plan_;
  absl::Status connect_error_;
  std::vector<std::shared_ptr<FakeStreamLog>> logs_;
  std::vector<std::string> connected_;
};

}  // namespace gather::client::testing

#endif  // GATHER_TESTS_CLIENT_FAKE_LOOKUP_TRANSPORT_H_
