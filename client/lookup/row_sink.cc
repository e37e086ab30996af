#include "client/lookup/row_sink.h"

#include <iostream>
#include <utility>

#include "client/commands/common.h"
#include "client/io/text.h"

namespace gather::client {

bool RowSink::Write(const google::protobuf::RepeatedPtrField<v1::LookupResult>& rows,
                    uint32_t shard, const std::string& server) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shard >= partial_.size()) partial_.resize(shard + 1);
  std::vector<v1::LookupResult>& partial = partial_[shard];
  std::vector<const v1::LookupResult*> key;
  for (const v1::LookupResult& row : rows) {
    // A row of another key while one is open: the open key's rest was lost (not from gatherd,
    // which sends a key's rows one after the other); it is dropped and asked again.
    if (!partial.empty() && partial.front().seq() != row.seq()) partial.clear();
    if (row.more()) {
      partial.push_back(row);
      continue;
    }
    if (partial.empty()) {
      WriteRowLocked(row, shard, &server);
      continue;
    }
    key.clear();
    for (const v1::LookupResult& held : partial) key.push_back(&held);
    key.push_back(&row);
    WriteKeyLocked(key.data(), key.size(), shard, &server);
    partial.clear();
  }
  absl::Time now = absl::Now();
  FlushLocked(now, false);
  progress_.Update(rows_, failed_, now);
  return write_error_.ok();
}

void RowSink::WriteLocal(uint64_t seq, const std::string& key, std::string error,
                         uint32_t shard) {
  v1::LookupResult row;
  row.set_seq(seq);
  row.set_key(SanitizeUtf8(key));
  row.set_status(v1::JOB_STATUS_INVALID_KEY);
  row.set_error(std::move(error));
  std::lock_guard<std::mutex> lock(mu_);
  WriteRowLocked(row, shard, nullptr);
}

void RowSink::EndStream(uint32_t shard) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shard < partial_.size()) partial_[shard].clear();
}

bool RowSink::Written(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  return written_.Test(seq);
}

uint64_t RowSink::shard_rows(uint32_t shard) {
  std::lock_guard<std::mutex> lock(mu_);
  return shard < rows_by_shard_.size() ? rows_by_shard_[shard] : 0;
}

void RowSink::Flush(absl::Time now, bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  FlushLocked(now, force);
}

void RowSink::Finish(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_.Finish(rows_, failed_, now);
}

absl::Status RowSink::write_error() {
  std::lock_guard<std::mutex> lock(mu_);
  return write_error_;
}

void RowSink::WriteKeyLocked(const v1::LookupResult* const* rows, size_t count, uint32_t shard,
                             const std::string* server) {
  const v1::LookupResult& last = *rows[count - 1];
  if (last.status() == v1::JOB_STATUS_CANCELLED) {
    ++cancelled_;  // not final: the key is fetched again (another attempt, or --resume)
    return;
  }
  if (!written_.Set(last.seq())) {
    ++duplicates_;
    return;
  }
  ++rows_;
  written_rows_ += count;
  if (shard >= rows_by_shard_.size()) rows_by_shard_.resize(shard + 1);
  ++rows_by_shard_[shard];
  if (server != nullptr) ++rows_by_server_[*server];
  if (last.status() >= 0 && last.status() < v1::JobStatus_ARRAYSIZE) ++counts_[last.status()];
  if (!IsSuccess(last.status())) ++failed_;
  if (last.pages_cut()) ++keys_cut_;
  const bool ok = last.status() == v1::JOB_STATUS_OK;
  for (size_t i = 0; i < count; ++i) {
    const v1::LookupResult& row = *rows[i];
    if (!csv_) {
      OutputFile& target = ok || errors_file_ == nullptr ? out_ : *errors_file_;
      AppendJsonlRow(row, field_names_, target.buffer(), layout_);
    } else if (ok) {
      AppendCsvRow(row, field_names_.size(), out_.buffer(), layout_);
    } else if (errors_file_ != nullptr) {
      AppendCsvErrorRow(row, errors_file_->buffer());
    } else if (!IsSuccess(row.status()) || !quiet_) {
      std::cerr << "gather lookup: seq " << row.seq() << ": " << StatusName(row.status())
                << (row.error().empty() ? "" : ": ") << row.error() << "\n";
    }
  }
}

void RowSink::FlushLocked(absl::Time now, bool force) {
  if (!write_error_.ok()) return;
  absl::Status status = force ? out_.Flush() : out_.MaybeFlush(now);
  if (status.ok() && errors_file_ != nullptr) {
    status = force ? errors_file_->Flush() : errors_file_->MaybeFlush(now);
  }
  if (!status.ok()) write_error_ = status;
}

}  // namespace gather::client
