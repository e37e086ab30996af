// The rows of a key (BatchLookup) or job (FetchAndRank) whose pages ended, added to its call's
// StreamCore one after the other: its items (or pages), or one row saying why it failed. Shared
// by both reactors; called with the core's mutex held.
#ifndef GATHER_SERVICE_RPC_PAGED_ROWS_H_
#define GATHER_SERVICE_RPC_PAGED_ROWS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "service/fetch/fetch_types.h"
#include "service/rpc/key_pages.h"

namespace gather::rpc {

// What the key's end was, for the metrics and the summary.
struct PagedEnd {
  v1::JobStatus status = v1::JOB_STATUS_OK;
  uint64_t rows = 0;      // rows added
  uint32_t attempts = 0;  // transfers over all its pages
  uint64_t bytes = 0;     // body bytes over all its pages
};

// Reads a page's answer into `pages` (the thread completing it, no lock held): the status as
// JobStatusOf gives it, then KeyPages::OnPage with this thread's parser.
KeyPages::Step ReadPageAnswer(KeyPages& pages, fetch::FetchResult& result, int follow_redirects,
                              const std::vector<extract::FieldSpec>& fields,
                              const std::vector<extract::JsonPointer>& required);

template <typename RowT>
void SetPageFigures(const KeyPages::PageInfo& info, RowT& row) {
  row.set_http_status(info.http_status);
  row.set_attempts(info.attempts);
  row.set_latency_ms(absl::ToDoubleMilliseconds(info.latency));
  row.set_queue_ms(absl::ToDoubleMilliseconds(info.queue_wait));
  row.set_bytes(info.bytes);
  if (info.shared) row.set_shared(true);
}

// `step` is how the pages ended (kDone or kFailed), `last` the last page's result. `label` names
// each row (key, or id and URL) and returns the bytes it added; its bool says whether this is the
// key's last row (the one its owned strings may be moved into). A key with no row at all ends
// MISSING; a failed key gets one row with the failing page's number and figures.
template <typename Core, typename RowT>
PagedEnd AddPagedRowsLocked(Core& core, uint64_t seq, KeyPages& pages, KeyPages::Step& step,
                            const fetch::FetchResult& last,
                            absl::FunctionRef<size_t(RowT&, bool)> label) {
  PagedEnd end;
  for (const KeyPages::PageInfo& info : pages.pages()) {
    end.attempts += info.attempts;
    end.bytes += info.bytes;
  }
  const bool failed = step.kind == KeyPages::Step::Kind::kFailed;
  if (failed && step.answer_failed) {
    end.attempts += last.attempts;
    end.bytes += last.body.size();
  }
  std::vector<KeyPages::Row>& rows = pages.rows();
  end.status = failed ? step.status : v1::JOB_STATUS_OK;
  std::string error = std::move(step.error);
  if (!failed && rows.empty()) {
    end.status = v1::JOB_STATUS_MISSING;
    error = absl::StrCat("no row in ", pages.pages().size(),
                         pages.pages().size() == 1 ? " page" : " pages");
    if (pages.filtered() > 0) {
      absl::StrAppend(&error, ": ", pages.filtered(), " lacked a required pointer");
    }
  }
  if (end.status != v1::JOB_STATUS_OK) {
    RowT* row = core.AddRowLocked(seq, end.status);
    if (row == nullptr) return end;
    size_t bytes = label(*row, true) + error.size();
    row->set_page(failed ? step.page : static_cast<uint32_t>(pages.pages().size()));
    if (failed && step.answer_failed) {
      row->set_http_status(last.http_status);
      row->set_attempts(last.attempts);
      row->set_latency_ms(absl::ToDoubleMilliseconds(last.latency));
      row->set_queue_ms(absl::ToDoubleMilliseconds(last.queue_wait));
      row->set_bytes(last.body.size());
    } else if (!pages.pages().empty()) {
      SetPageFigures(pages.pages().back(), *row);
    }
    row->set_error(std::move(error));
    core.AddRowBytesLocked(bytes);
    end.rows = 1;
    return end;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    KeyPages::Row& item = rows[i];
    const bool last_row = i + 1 == rows.size();
    // The key's status is counted once, with its last row.
    RowT* row = core.AddRowLocked(seq, v1::JOB_STATUS_OK, last_row);
    if (row == nullptr) continue;
    size_t bytes = label(*row, last_row);
    if (!last_row) row->set_more(true);
    row->set_page(item.page + 1);
    if (item.item) row->set_item(*item.item);
    SetPageFigures(pages.pages()[item.page], *row);
    for (std::string& value : item.values) {
      bytes += value.size();
      row->add_values(std::move(value));
    }
    if (last_row && pages.cut()) row->set_pages_cut(true);
    core.AddRowBytesLocked(bytes);
    ++end.rows;
  }
  return end;
}

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_PAGED_ROWS_H_
