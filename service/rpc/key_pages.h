// The pages of one BatchLookup key: from each page's answer, its rows and the request for the
// next page, until the last page, a failure, a page loop or the page limit. Pure (no gRPC, no
// I/O); the reactor owns one per key of a paged call and submits the requests it makes.
#ifndef GATHER_SERVICE_RPC_KEY_PAGES_H_
#define GATHER_SERVICE_RPC_KEY_PAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gather/v1/gather.pb.h"
#include "service/extract/fields.h"
#include "service/extract/pages.h"
#include "service/fetch/fetch_types.h"
#include "simdjson.h"

namespace gather::rpc {

inline constexpr uint32_t kDefaultMaxPages = 100;
inline constexpr uint32_t kMaxPagesLimit = 10'000;

// How the pages of every key of a call are followed (LookupSpec.paging, validated).
struct PagingPlan {
  extract::PageSpec page;
  std::string token_param;  // PageSpec::Next::kTokenPointer
  uint32_t max_pages = kDefaultMaxPages;
  // Cross-origin next pages keep every header (policy.redirect_keeps_headers, never with a
  // credential profile).
  bool keep_headers_across_origins = false;
};

// LookupSpec.paging checked (`field` is "spec.paging"); nullopt when no paging is asked for.
// INVALID_ARGUMENT names the field at fault: two ways to find the next page, a cursor without
// its query parameter, a bad pointer, max_pages over kMaxPagesLimit.
absl::StatusOr<std::optional<PagingPlan>> BuildPagingPlan(const v1::Paging& paging,
                                                          absl::string_view field);

// Owns one key's first request (the model of the next ones), the rows of its pages so far and the
// next-page targets it has seen. Used by one thread at a time.
class KeyPages {
 public:
  // What a page's answer leads to.
  struct Step {
    enum class Kind { kNext, kDone, kFailed };
    Kind kind = Kind::kDone;
    fetch::FetchRequest next;  // kNext
    v1::JobStatus status = v1::JOB_STATUS_OK;  // kFailed: the key's status, with `error`
    std::string error;
    // kFailed: the page (1-based) the failure is about, and whether it is that page's answer
    // (its figures are the last result's) rather than its next-page link.
    uint32_t page = 0;
    bool answer_failed = false;
  };
  // The page a row came from, as the row reports it.
  struct PageInfo {
    int http_status = 0;
    uint32_t attempts = 0;
    absl::Duration latency;
    absl::Duration queue_wait;
    uint64_t bytes = 0;
    bool shared = false;
  };
  struct Row {
    uint32_t page = 0;  // index into pages()
    std::optional<uint32_t> item;
    std::vector<std::string> values;
  };

  KeyPages(const PagingPlan& plan, fetch::FetchRequest first);

  // The answer to the current page: `status` and `error` as JobStatusOf gave them. On OK reads
  // the page's rows and finds the next page.
  Step OnPage(fetch::FetchResult& result, v1::JobStatus status, std::string error,
              simdjson::ondemand::parser& parser, const std::vector<extract::FieldSpec>& fields,
              const std::vector<extract::JsonPointer>& required);

  // The call ended while the key had a next page: the step that ends it CANCELLED instead.
  Step Cancelled() const;

  const std::vector<PageInfo>& pages() const { return pages_; }
  std::vector<Row>& rows() { return rows_; }
  uint64_t row_bytes() const { return row_bytes_; }
  uint64_t filtered() const { return filtered_; }
  // The page limit ended the key while it had a next page.
  bool cut() const { return cut_; }
  // A request for the page after the current one was made (how many pages were asked for).
  uint32_t requested() const { return requested_; }

 private:
  // The request for the page at `target` (a URL or cursor); kFailed when it cannot be made.
  Step NextRequest(const std::string& target, const fetch::FetchResult& result);
  // Ends the key with `status`; `page` (1-based) is the page the failure is about.
  Step Fail(v1::JobStatus status, size_t page, absl::string_view why) const;

  const PagingPlan& plan_;
  const fetch::FetchRequest first_;
  std::string current_url_;
  std::vector<PageInfo> pages_;
  std::vector<Row> rows_;
  uint64_t row_bytes_ = 0;
  uint64_t filtered_ = 0;
  bool cut_ = false;
  uint32_t requested_ = 1;
  absl::flat_hash_set<std::string> seen_;  // next URLs (resolved) or cursors met so far
  extract::PageOutcome outcome_;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_KEY_PAGES_H_
