// The last message of each RPC (RankSummary, LookupSummary) and the per-status job counts they
// and the per-RPC log line carry. Pure (no gRPC server, no I/O).
#ifndef GATHER_SERVICE_RPC_SUMMARIES_H_
#define GATHER_SERVICE_RPC_SUMMARIES_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "service/extract/rank.h"

namespace gather::rpc {

// How many jobs ended with each JobStatus. Not thread-safe (a call guards it with its mutex).
class StatusCounts {
 public:
  void Add(v1::JobStatus status) {
    if (status >= 0 && status < v1::JobStatus_ARRAYSIZE) ++counts_[status];
  }
  uint64_t count(v1::JobStatus status) const { return counts_[status]; }
  // Jobs counted over every status.
  uint64_t total() const;
  // One StatusCount per status with jobs, in JobStatus order.
  void AppendTo(google::protobuf::RepeatedPtrField<v1::StatusCount>* out) const;
  // The raw counts, indexed by JobStatus (for the log line).
  const uint64_t* data() const { return counts_.data(); }
  int size() const { return static_cast<int>(counts_.size()); }

 private:
  std::array<uint64_t, v1::JobStatus_ARRAYSIZE> counts_{};
};

// FetchAndRank's summary: the `top_n` best of `scored` (0: all) in the requested order, ranked
// from 1, with the totals.
v1::RankSummary BuildRankSummary(std::vector<extract::Scored> scored, size_t top_n,
                                 bool ascending, uint64_t jobs, const StatusCounts& counts,
                                 absl::Duration wall, uint64_t bytes);

// BatchLookup's summary. `rate`: the host's enforced request rate (0 when unlimited).
v1::LookupSummary BuildLookupSummary(uint64_t keys, const StatusCounts& counts,
                                     absl::Duration wall, uint64_t bytes, double rate);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_SUMMARIES_H_
