// BatchLookupReactor's paged calls: a page's completion leads to the key's next page or to its
// rows (see "Pages" in batch_lookup_reactor.h).
#include <utility>

#include "service/rpc/batch_lookup_reactor.h"
#include "service/rpc/paged_rows.h"

namespace gather::rpc {

void BatchLookupReactor::OnPageDone(uint64_t tag, fetch::FetchResult& result) {
  KeyPages* pages;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    pages = slots_[tag].pages.get();
    core_.AddBodyBytesLocked(result.body.size());
    core_.AddBudgetWaitLocked(result.budget_wait);
  }
  const size_t rows_before = pages->rows().size();
  const size_t pages_before = pages->pages().size();
  KeyPages::Step step = ReadPageAnswer(*pages, result, state_->follow_redirects, plan_->fields,
                                       plan_->required);

  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    pages_ += pages->pages().size() - pages_before;
    slot_rows_ += pages->rows().size() - rows_before;
    if (step.kind == KeyPages::Step::Kind::kNext) {
      if (cancelled_ || draining_ || core_.stopping_locked()) {
        step = pages->Cancelled();
      } else {
        // Same tag: the key keeps its slot and stays one pending job.
        state_->engine->Submit(group_, tag, std::move(step.next));
        finish = core_.PumpLocked();
      }
    }
    if (step.kind != KeyPages::Step::Kind::kNext) {
      EndPagedKeyLocked(static_cast<uint32_t>(tag), step, result);
      finish = core_.PumpLocked();
    }
  }
  if (finish) core_.FinishRpc(*finish);
}

void BatchLookupReactor::EndPagedKeyLocked(uint32_t tag, KeyPages::Step& step,
                                           const fetch::FetchResult& last) {
  Slot& slot = slots_[tag];
  KeyPages& pages = *slot.pages;
  --pending_;
  slot_rows_ -= pages.rows().size();
  items_filtered_ += pages.filtered();
  if (pages.cut() && step.kind == KeyPages::Step::Kind::kDone) ++keys_cut_;
  PagedEnd end = AddPagedRowsLocked<Core, v1::LookupResult>(
      core_, slot.seq, pages, step, last, [&slot](v1::LookupResult& row, bool last_row) {
        if (last_row) {
          row.set_key(std::move(slot.key));
        } else {
          row.set_key(slot.key);
        }
        return row.key().size();
      });
  rows_ += end.rows;
  if (state_->metrics != nullptr) {
    state_->metrics->JobDone(observe::Method::kBatchLookup, end.status,
                             last.shared ? -absl::InfiniteDuration() : last.latency, end.attempts,
                             end.bytes);
  }
  FreeSlotLocked(tag);
}

void BatchLookupReactor::FreeSlotLocked(uint32_t tag) {
  Slot& slot = slots_[tag];
  slot.key.clear();
  slot.pages.reset();
  free_slots_.push_back(tag);
}

}  // namespace gather::rpc
