#include "client/lookup/row_sink.h"

#include <iostream>
#include <utility>

#include "client/commands/common.h"
#include "client/io/text.h"

namespace gather::client {

bool RowSink::Write(const google::protobuf::RepeatedPtrField<v1::LookupResult>& rows,
                    uint32_t shard, const std::string& server) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const v1::LookupResult& row : rows) WriteRowLocked(row, shard, &server);
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

void RowSink::WriteRowLocked(const v1::LookupResult& row, uint32_t shard,
                             const std::string* server) {
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

void RowSink::FlushLocked(absl::Time now, bool force) {
  if (!write_error_.ok()) return;
  absl::Status status = force ? out_.Flush() : out_.MaybeFlush(now);
  if (status.ok() && errors_file_ != nullptr) {
    status = force ? errors_file_->Flush() : errors_file_->MaybeFlush(now);
  }
  if (!status.ok()) write_error_ = status;
}

}  // namespace gather::client
