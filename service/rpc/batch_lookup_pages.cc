// BatchLookupReactor's paged calls: a page's completion leads to the key's next page or to its
// rows (see "Pages" in batch_lookup_reactor.h).
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/rpc/batch_lookup_reactor.h"
#include "service/rpc/status_convert.h"
#include "simdjson.h"

namespace gather::rpc {
namespace {

simdjson::ondemand::parser& PageParser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

void SetPageInfo(const KeyPages::PageInfo& info, v1::LookupResult& row) {
  row.set_http_status(info.http_status);
  row.set_attempts(info.attempts);
  row.set_latency_ms(absl::ToDoubleMilliseconds(info.latency));
  row.set_queue_ms(absl::ToDoubleMilliseconds(info.queue_wait));
  row.set_bytes(info.bytes);
  if (info.shared) row.set_shared(true);
}

}  // namespace

void BatchLookupReactor::OnPageDone(uint64_t tag, fetch::FetchResult& result) {
  KeyPages* pages;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    pages = slots_[tag].pages.get();
    core_.AddBodyBytesLocked(result.body.size());
  }
  std::string error;
  v1::JobStatus status = JobStatusOf(result, state_->follow_redirects, &error);
  const size_t rows_before = pages->rows().size();
  KeyPages::Step step =
      pages->OnPage(result, status, std::move(error), PageParser(), plan_->fields, plan_->required);

  std::optional<grpc::Status> finish;
  {
    std::lock_guard<std::mutex> lock(core_.mu());
    if (status == v1::JOB_STATUS_OK) ++pages_;
    slot_rows_ += pages->rows().size() - rows_before;
    if (step.kind == KeyPages::Step::Kind::kNext) {
      if (cancelled_ || draining_ || core_.stopping_locked()) {
        step.kind = KeyPages::Step::Kind::kFailed;
        step.status = v1::JOB_STATUS_CANCELLED;
        step.page = static_cast<uint32_t>(pages->pages().size());
        step.answer_failed = false;
        step.error = absl::StrCat("cancelled after page ", step.page,
                                  ": the call ended; the key's rows were not sent");
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
  std::vector<KeyPages::Row>& rows = pages.rows();
  --pending_;
  slot_rows_ -= rows.size();
  items_filtered_ += pages.filtered();
  uint32_t attempts = 0;
  uint64_t bytes = 0;
  for (const KeyPages::PageInfo& info : pages.pages()) {
    attempts += info.attempts;
    bytes += info.bytes;
  }

  v1::JobStatus status = step.status;
  std::string error = std::move(step.error);
  if (step.kind == KeyPages::Step::Kind::kDone && rows.empty()) {
    status = v1::JOB_STATUS_MISSING;
    error = absl::StrCat("no row in the key's ", pages.pages().size(),
                         pages.pages().size() == 1 ? " page" : " pages");
    if (pages.filtered() > 0) {
      absl::StrAppend(&error, ": ", pages.filtered(), " lacked a required pointer");
    }
  }
  if (state_->metrics != nullptr) {
    state_->metrics->JobDone(observe::Method::kBatchLookup, status,
                             last.shared ? -absl::InfiniteDuration() : last.latency,
                             attempts + (step.answer_failed ? last.attempts : 0),
                             bytes + (step.answer_failed ? last.body.size() : 0));
  }

  if (status != v1::JOB_STATUS_OK) {
    // One row: the key's status, the failing page's (or the last page's) figures.
    if (v1::LookupResult* row = core_.AddRowLocked(slot.seq, status)) {
      row->set_key(std::move(slot.key));
      row->set_page(step.kind == KeyPages::Step::Kind::kFailed
                        ? step.page
                        : static_cast<uint32_t>(pages.pages().size()));
      if (step.kind == KeyPages::Step::Kind::kFailed && step.answer_failed) {
        row->set_http_status(last.http_status);
        row->set_attempts(last.attempts);
        row->set_latency_ms(absl::ToDoubleMilliseconds(last.latency));
        row->set_queue_ms(absl::ToDoubleMilliseconds(last.queue_wait));
        row->set_bytes(last.body.size());
      } else if (!pages.pages().empty()) {
        SetPageInfo(pages.pages().back(), *row);
      }
      core_.AddRowBytesLocked(row->key().size() + error.size());
      row->set_error(std::move(error));
      ++rows_;
    }
  } else {
    if (pages.cut()) ++keys_cut_;
    for (size_t i = 0; i < rows.size(); ++i) {
      KeyPages::Row& item = rows[i];
      const bool last_row = i + 1 == rows.size();
      // The key's status is counted once, with its last row.
      v1::LookupResult* row = core_.AddRowLocked(slot.seq, v1::JOB_STATUS_OK, last_row);
      if (row == nullptr) continue;
      size_t row_bytes = slot.key.size();
      if (last_row) {
        row->set_key(std::move(slot.key));
      } else {
        row->set_key(slot.key);
        row->set_more(true);
      }
      row->set_page(item.page + 1);
      if (item.item) row->set_item(*item.item);
      SetPageInfo(pages.pages()[item.page], *row);
      for (std::string& value : item.values) {
        row_bytes += value.size();
        row->add_values(std::move(value));
      }
      if (last_row && pages.cut()) row->set_pages_cut(true);
      core_.AddRowBytesLocked(row_bytes);
      ++rows_;
    }
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
