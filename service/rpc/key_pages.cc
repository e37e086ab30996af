#include "service/rpc/key_pages.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/json_pointer.h"
#include "common/url.h"
#include "service/extract/http_url.h"
#include "service/fetch/redirect.h"

namespace gather::rpc {
namespace {

// A next-page target in an error message: long ones (cursors can be kilobytes) are cut.
std::string Shown(const std::string& target) {
  constexpr size_t kShown = 120;
  if (target.size() <= kShown) return target;
  return absl::StrCat(target.substr(0, kShown), "...");
}

absl::Status PagingError(absl::string_view field, absl::string_view name,
                        absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ".", name, ": ", message));
}

}  // namespace

absl::StatusOr<std::optional<PagingPlan>> BuildPagingPlan(const v1::Paging& paging,
                                                          absl::string_view field) {
  const int ways = (paging.next_url_pointer().empty() ? 0 : 1) + (paging.next_link() ? 1 : 0) +
                   (paging.next_token_pointer().empty() ? 0 : 1);
  if (ways == 0 && !paging.has_items()) {
    if (!paging.token_param().empty()) {
      return PagingError(field, "token_param", "needs next_token_pointer (the cursor to send)");
    }
    if (paging.max_pages() != 0) {
      return PagingError(field, "max_pages", "needs a way to find the next page");
    }
    return std::optional<PagingPlan>();
  }
  if (ways > 1) {
    return PagingError(field, "next_url_pointer",
                       "give one of next_url_pointer, next_link and next_token_pointer");
  }
  PagingPlan plan;
  auto pointer = [&](absl::string_view name,
                     const std::string& text) -> absl::StatusOr<extract::JsonPointer> {
    absl::StatusOr<extract::JsonPointer> parsed = common::ParseJsonPointer(text);
    if (!parsed.ok()) return PagingError(field, name, parsed.status().message());
    return parsed;
  };
  if (!paging.next_url_pointer().empty()) {
    plan.page.next = extract::PageSpec::Next::kUrlPointer;
    auto parsed = pointer("next_url_pointer", paging.next_url_pointer());
    if (!parsed.ok()) return parsed.status();
    plan.page.next_pointer = *std::move(parsed);
  } else if (paging.next_link()) {
    plan.page.next = extract::PageSpec::Next::kLinkHeader;
  } else if (!paging.next_token_pointer().empty()) {
    plan.page.next = extract::PageSpec::Next::kTokenPointer;
    auto parsed = pointer("next_token_pointer", paging.next_token_pointer());
    if (!parsed.ok()) return parsed.status();
    plan.page.next_pointer = *std::move(parsed);
    if (paging.token_param().empty()) {
      return PagingError(field, "token_param",
                         "the query parameter that carries the cursor is required with "
                         "next_token_pointer");
    }
    plan.token_param = paging.token_param();
  }
  if (!paging.token_param().empty() && plan.page.next != extract::PageSpec::Next::kTokenPointer) {
    return PagingError(field, "token_param", "is only used with next_token_pointer");
  }
  if (paging.has_items()) {
    auto parsed = pointer("items", paging.items());
    if (!parsed.ok()) return parsed.status();
    plan.page.items = *std::move(parsed);
  }
  if (paging.max_pages() > kMaxPagesLimit) {
    return PagingError(field, "max_pages", absl::StrCat("at most ", kMaxPagesLimit));
  }
  if (paging.max_pages() != 0) plan.max_pages = paging.max_pages();
  if (plan.page.next == extract::PageSpec::Next::kNone) plan.max_pages = 1;
  return std::optional<PagingPlan>(std::move(plan));
}

KeyPages::KeyPages(const PagingPlan& plan, fetch::FetchRequest first)
    : plan_(plan), first_(std::move(first)), current_url_(first_.url) {
  if (plan_.page.next != extract::PageSpec::Next::kTokenPointer) seen_.insert(first_.url);
}

KeyPages::Step KeyPages::Fail(v1::JobStatus status, size_t page, absl::string_view why) const {
  Step step;
  step.kind = Step::Kind::kFailed;
  step.status = status;
  step.page = static_cast<uint32_t>(page);
  step.answer_failed = page > pages_.size();
  if (rows_.empty()) {
    step.error = absl::StrCat("page ", page, ": ", why);
  } else {
    step.error = absl::StrCat("page ", page, ": ", why, " (the ", rows_.size(),
                              " rows read before were not sent)");
  }
  return step;
}

KeyPages::Step KeyPages::OnPage(fetch::FetchResult& result, v1::JobStatus status,
                                std::string error, simdjson::ondemand::parser& parser,
                                const std::vector<extract::FieldSpec>& fields,
                                const std::vector<extract::JsonPointer>& required) {
  if (status != v1::JOB_STATUS_OK) {
    return Fail(status, pages_.size() + 1, error);
  }
  extract::ReadPage(parser, result.body, plan_.page, fields, required, outcome_);
  if (outcome_.status != extract::ExtractStatus::kOk) {
    return Fail(v1::JOB_STATUS_BAD_CONTENT, pages_.size() + 1, outcome_.error);
  }
  PageInfo info;
  info.http_status = result.http_status;
  info.attempts = result.attempts;
  info.latency = result.latency;
  info.queue_wait = result.queue_wait;
  info.bytes = result.body.size();
  info.shared = result.shared;
  pages_.push_back(info);
  const uint32_t page = static_cast<uint32_t>(pages_.size() - 1);
  filtered_ += outcome_.filtered;
  for (extract::PageRow& row : outcome_.rows) {
    for (const std::string& value : row.values) row_bytes_ += value.size();
    row_bytes_ += 32;
    rows_.push_back(Row{page, row.item, std::move(row.values)});
  }

  std::optional<std::string> target;
  if (plan_.page.next == extract::PageSpec::Next::kNone) {
    return Step{};
  } else if (plan_.page.next == extract::PageSpec::Next::kLinkHeader) {
    target = extract::NextLinkTarget(result.link);
  } else {
    target = std::move(outcome_.next);
  }
  if (!target) return Step{};
  if (pages_.size() >= plan_.max_pages) {
    cut_ = true;
    return Step{};
  }
  return NextRequest(*target, result);
}

KeyPages::Step KeyPages::Cancelled() const {
  Step step;
  step.kind = Step::Kind::kFailed;
  step.status = v1::JOB_STATUS_CANCELLED;
  step.page = static_cast<uint32_t>(pages_.size());
  step.error = absl::StrCat("cancelled after page ", step.page,
                            ": the call ended; the rows were not sent");
  return step;
}

KeyPages::Step KeyPages::NextRequest(const std::string& target, const fetch::FetchResult& result) {
  const bool token = plan_.page.next == extract::PageSpec::Next::kTokenPointer;
  fetch::FetchRequest next = first_;
  if (token) {
    if (!seen_.insert(target).second) {
      return Fail(v1::JOB_STATUS_BAD_CONTENT, pages_.size(),
                  absl::StrCat("page loop: the cursor \"", Shown(target), "\" came twice"));
    }
    absl::StatusOr<std::string> url =
        extract::WithQueryParameter(first_.url, plan_.token_param, target);
    if (!url.ok()) return Fail(v1::JOB_STATUS_BAD_CONTENT, pages_.size(), url.status().message());
    next.url = *std::move(url);
  } else {
    const std::string& base = result.final_url.empty() ? current_url_ : result.final_url;
    absl::StatusOr<std::string> url = extract::ResolveHttpUrl(base, target);
    if (!url.ok()) {
      return Fail(v1::JOB_STATUS_BAD_CONTENT, pages_.size(),
                  absl::StrCat("the next page's URL \"", Shown(target), "\": ",
                               url.status().message()));
    }
    if (!seen_.insert(*url).second) {
      return Fail(v1::JOB_STATUS_BAD_CONTENT, pages_.size(),
                  absl::StrCat("page loop: the next page's URL ", Shown(*url), " came twice"));
    }
    absl::StatusOr<fetch::RedirectHop> hop = fetch::NextHop(first_.url, *url);
    if (!hop.ok()) {
      return Fail(v1::JOB_STATUS_BAD_CONTENT, pages_.size(),
                  absl::StrCat("the next page's URL: ", hop.status().message()));
    }
    next.url = std::move(hop->url);
    next.host = common::HostOf(next.url);
    // Another origin gets no credential: the headers a cross-origin redirect keeps.
    if (!hop->same_origin && next.headers && !plan_.keep_headers_across_origins) {
      next.headers = next.headers->RedirectSafe();
    }
  }
  current_url_ = next.url;
  ++requested_;
  Step step;
  step.kind = Step::Kind::kNext;
  step.next = std::move(next);
  return step;
}

}  // namespace gather::rpc
