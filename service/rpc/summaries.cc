#include "service/rpc/summaries.h"

#include <utility>

namespace gather::rpc {

uint64_t StatusCounts::total() const {
  uint64_t sum = 0;
  for (uint64_t count : counts_) sum += count;
  return sum;
}

void StatusCounts::AppendTo(google::protobuf::RepeatedPtrField<v1::StatusCount>* out) const {
  for (int status = 0; status < size(); ++status) {
    if (counts_[status] == 0) continue;
    v1::StatusCount* item = out->Add();
    item->set_status(static_cast<v1::JobStatus>(status));
    item->set_count(counts_[status]);
  }
}

v1::RankSummary BuildRankSummary(std::vector<extract::Scored> scored, size_t top_n,
                                 bool ascending, uint64_t jobs, const StatusCounts& counts,
                                 absl::Duration wall, uint64_t bytes) {
  v1::RankSummary summary;
  uint32_t rank = 0;
  for (extract::Scored& entry : extract::TopN(std::move(scored), top_n, ascending)) {
    v1::RankedJob* ranked = summary.add_ranking();
    ranked->set_rank(++rank);
    ranked->set_id(std::move(entry.id));
    ranked->set_url(std::move(entry.url));
    ranked->set_score(entry.score);
  }
  summary.set_jobs(jobs);
  counts.AppendTo(summary.mutable_status_counts());
  summary.set_wall_ms(absl::ToDoubleMilliseconds(wall));
  summary.set_bytes(bytes);
  return summary;
}

v1::LookupSummary BuildLookupSummary(uint64_t keys, const StatusCounts& counts,
                                     absl::Duration wall, uint64_t bytes, double rate) {
  v1::LookupSummary summary;
  summary.set_keys(keys);
  counts.AppendTo(summary.mutable_status_counts());
  summary.set_wall_ms(absl::ToDoubleMilliseconds(wall));
  summary.set_bytes(bytes);
  summary.set_rate(rate);
  return summary;
}

}  // namespace gather::rpc
