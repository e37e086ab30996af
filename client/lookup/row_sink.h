// The output side of one `gather lookup` run: every row from every shard's stream is written
// once (by seq) to the output files, with the counts the summary and the exit code need, and the
// progress line.
#ifndef GATHER_CLIENT_LOOKUP_ROW_SINK_H_
#define GATHER_CLIENT_LOOKUP_ROW_SINK_H_

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/io/output_file.h"
#include "client/lookup/resume.h"
#include "client/lookup/row_format.h"
#include "client/output/progress.h"
#include "gather/v1/gather.pb.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace gather::client {

// Owns the run's bookkeeping (which seqs have their row, the counts); borrows the output files
// and the progress line, which must outlive it. OK rows go to `out`; the others go to
// `errors_file` when there is one, else to `out` (JSONL) or to stderr (CSV; with `quiet`, only
// the failures).
// Threads: each shard's reader (Write) and sender (WriteLocal, Written), the shard threads
// (shard_rows), then the caller once every stream has ended (Flush, Finish and the counts);
// mu_ guards all of it.
class RowSink {
 public:
  RowSink(OutputFormat format, bool quiet, const std::vector<std::string>& field_names,
          OutputFile& out, OutputFile* errors_file, Progress& progress, KeyLayout layout = {})
      : csv_(format == OutputFormat::kCsv), quiet_(quiet), field_names_(field_names), out_(out),
        errors_file_(errors_file), progress_(progress), layout_(std::move(layout)) {}
  RowSink(const RowSink&) = delete;
  RowSink& operator=(const RowSink&) = delete;

  // The rows of one message of `shard`'s stream to `server`. False once the output failed. A
  // key's rows (paged calls: all but the last have `more` set, and they may span messages) are
  // held until its last row came, then written together, so a key is in the files whole or not
  // at all.
  bool Write(const google::protobuf::RepeatedPtrField<v1::LookupResult>& rows, uint32_t shard,
             const std::string& server);
  // A row made by the CLI itself (a key that cannot be sent): INVALID_KEY with `error`.
  void WriteLocal(uint64_t seq, const std::string& key, std::string error, uint32_t shard);
  // `shard`'s stream ended: the rows of a key whose last row did not come are dropped (the key
  // has no row yet and is sent again).
  void EndStream(uint32_t shard);
  // Whether this run already wrote the row of `seq`.
  bool Written(uint64_t seq);
  // Rows written for `shard` so far.
  uint64_t shard_rows(uint32_t shard);
  // Writes what is buffered: all of it when `force`, else when the files say it is due.
  void Flush(absl::Time now, bool force);
  // The progress line's final state.
  void Finish(absl::Time now);

  // Read after every stream has ended. rows(): keys written (each key's rows count once);
  // written_rows(): every row (more than rows() when keys have several pages or items).
  uint64_t rows() const { return rows_; }
  uint64_t written_rows() const { return written_rows_; }
  uint64_t keys_cut() const { return keys_cut_; }
  uint64_t failed() const { return failed_; }
  uint64_t cancelled() const { return cancelled_; }
  uint64_t duplicates() const { return duplicates_; }
  const std::array<uint64_t, v1::JobStatus_ARRAYSIZE>& counts() const { return counts_; }
  const std::map<std::string, uint64_t>& rows_by_server() const { return rows_by_server_; }
  absl::Status write_error();

 private:
  // Writes the rows of one key (the last row ends it; earlier ones have `more`).
  void WriteKeyLocked(const v1::LookupResult* const* rows, size_t count, uint32_t shard,
                      const std::string* server);
  void WriteRowLocked(const v1::LookupResult& row, uint32_t shard, const std::string* server) {
    const v1::LookupResult* one = &row;
    WriteKeyLocked(&one, 1, shard, server);
  }
  void FlushLocked(absl::Time now, bool force);

  const bool csv_;
  const bool quiet_;
  const std::vector<std::string>& field_names_;
  std::mutex mu_;
  OutputFile& out_;
  OutputFile* errors_file_;  // null: none
  Progress& progress_;
  const KeyLayout layout_;
  SeqBitmap written_;  // this run's rows: a row sent twice (or by two attempts) is written once
  std::array<uint64_t, v1::JobStatus_ARRAYSIZE> counts_{};
  uint64_t rows_ = 0;
  uint64_t written_rows_ = 0;
  uint64_t keys_cut_ = 0;
  uint64_t failed_ = 0;
  uint64_t cancelled_ = 0;
  uint64_t duplicates_ = 0;
  std::vector<uint64_t> rows_by_shard_;
  std::vector<std::vector<v1::LookupResult>> partial_;  // per shard: the open key's rows so far
  std::map<std::string, uint64_t> rows_by_server_;
  absl::Status write_error_;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_ROW_SINK_H_
