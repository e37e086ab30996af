// FetchAndRankReactor's paged calls: a page's completion leads to the job's next page or to its
// rows (the same model as BatchLookup's, service/rpc/batch_lookup_pages.cc).
#include <utility>

#include "service/rpc/fetch_and_rank_reactor.h"
#include "service/rpc/paged_rows.h"

namespace gather::rpc {

void FetchAndRankReactor::HandlePage(uint64_t tag, fetch::FetchResult& result) {
  KeyPages* pages;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    pages = pages_[tag].get();
    core_.AddBodyBytesLocked(result.body.size());
    core_.AddBudgetWaitLocked(result.budget_wait);
  }
  KeyPages::Step step = ReadPageAnswer(*pages, result, state_->follow_redirects, plan_->fields,
                                       plan_->required);

  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    if (step.kind == KeyPages::Step::Kind::kNext) {
      if (cancelled_ || draining_.load() || core_.stopping_locked()) {
        step = pages->Cancelled();
      } else {
        // Same tag: the job stays one pending job from its first page to its last.
        state_->engine->Submit(group_, tag, std::move(step.next));
      }
    }
    if (step.kind != KeyPages::Step::Kind::kNext) {
      const RankJob& job = jobs_[tag];
      --pending_;
      PagedEnd end = AddPagedRowsLocked<Core, v1::JobResult>(
          core_, tag, *pages, step, result, [&job](v1::JobResult& row, bool) {
            row.set_id(job.id);
            row.set_url(job.url);
            return job.id.size() + job.url.size();
          });
      if (state_->metrics != nullptr) {
        state_->metrics->JobDone(observe::Method::kFetchAndRank, end.status,
                                 result.shared ? -absl::InfiniteDuration() : result.latency,
                                 end.attempts, end.bytes);
      }
      pages_[tag].reset();
    }
    finish = core_.PumpLocked();
  }
  if (finish) core_.FinishRpc(*finish);
}

}  // namespace gather::rpc
