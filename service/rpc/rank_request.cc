#include "service/rpc/rank_request.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gather::rpc {
namespace {

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

bool IsTokenChar(unsigned char c) {
  return absl::ascii_isalnum(c) || absl::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                       absl::string_view::npos;
}

absl::Status ValidateUrl(absl::string_view field, absl::string_view url,
                         const config::Limits& limits) {
  if (url.size() > limits.max_url_length) {
    return FieldError(field, absl::StrCat("URL longer than ", limits.max_url_length, " bytes"));
  }
  if (absl::Status status = extract::ValidateHttpUrl(url); !status.ok()) {
    return FieldError(field, status.message());
  }
  return absl::OkStatus();
}

absl::StatusOr<extract::Reducer> ToReducer(v1::Reducer reducer, absl::string_view field) {
  switch (reducer) {
    case v1::REDUCER_MEAN: return extract::Reducer::kMean;
    case v1::REDUCER_SUM: return extract::Reducer::kSum;
    case v1::REDUCER_MIN: return extract::Reducer::kMin;
    case v1::REDUCER_MAX: return extract::Reducer::kMax;
    case v1::REDUCER_LAST: return extract::Reducer::kLast;
    case v1::REDUCER_COUNT: return extract::Reducer::kCount;
    case v1::REDUCER_UNSPECIFIED:
      return FieldError(field, "reducer is required (MEAN, SUM, MIN, MAX, LAST or COUNT)");
    default:
      return FieldError(field, absl::StrCat("unknown reducer value ", static_cast<int>(reducer)));
  }
}

}  // namespace

absl::Status ValidateHeaders(const google::protobuf::RepeatedPtrField<v1::Header>& headers,
                             absl::string_view field, const config::Limits& limits) {
  if (static_cast<size_t>(headers.size()) > limits.max_headers) {
    return FieldError(field, absl::StrCat("more than ", limits.max_headers, " headers"));
  }
  for (int i = 0; i < headers.size(); ++i) {
    const v1::Header& header = headers[i];
    std::string name_field = absl::StrCat(field, "[", i, "].name");
    if (header.name().empty()) return FieldError(name_field, "header name is empty");
    for (unsigned char c : header.name()) {
      if (!IsTokenChar(c)) return FieldError(name_field, "header name has a character not allowed in HTTP");
    }
    if (header.name().size() + header.value().size() > limits.max_header_bytes) {
      return FieldError(absl::StrCat(field, "[", i, "]"),
                        absl::StrCat("header longer than ", limits.max_header_bytes, " bytes"));
    }
    for (char c : header.value()) {
      if (c == '\r' || c == '\n' || c == '\0') {
        return FieldError(absl::StrCat(field, "[", i, "].value"),
                          "header value contains CR, LF or NUL");
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RankPlan> BuildRankPlan(const v1::FetchAndRankRequest& request,
                                       const config::Limits& limits) {
  RankPlan plan;
  // ---- policy ----
  const v1::FetchPolicy& policy = request.policy();
  if (!std::isfinite(policy.timeout_seconds()) || policy.timeout_seconds() < 0) {
    return FieldError("policy.timeout_seconds", "must be a finite number >= 0");
  }
  plan.timeout = policy.timeout_seconds() == 0 ? limits.default_timeout
                                               : absl::Seconds(policy.timeout_seconds());
  if (plan.timeout > limits.max_timeout) {
    return FieldError("policy.timeout_seconds",
                      absl::StrCat("over the server's maximum of ",
                                   absl::ToDoubleSeconds(limits.max_timeout), " s"));
  }
  if (policy.concurrency() > static_cast<uint32_t>(limits.max_rpc_concurrency)) {
    return FieldError("policy.concurrency", absl::StrCat("over the server's maximum of ",
                                                         limits.max_rpc_concurrency));
  }
  plan.concurrency = policy.concurrency() == 0 ? limits.default_concurrency
                                               : static_cast<int>(policy.concurrency());
  if (policy.max_body_bytes() > limits.max_body_bytes) {
    return FieldError("policy.max_body_bytes",
                      absl::StrCat("over the server's maximum of ", limits.max_body_bytes));
  }
  plan.max_body_bytes = policy.max_body_bytes() == 0 ? limits.default_max_body_bytes
                                                     : policy.max_body_bytes();

  // ---- score ----
  if (!request.has_score()) return FieldError("score", "a score spec is required");
  auto values = extract::ParseJsonPointer(request.score().values_pointer());
  if (!values.ok()) return FieldError("score.values_pointer", values.status().message());
  plan.score.values = *std::move(values);
  plan.score.skip_columns = request.score().skip_columns();
  auto row = ToReducer(request.score().row_reducer(), "score.row_reducer");
  if (!row.ok()) return row.status();
  auto across = ToReducer(request.score().across_reducer(), "score.across_reducer");
  if (!across.ok()) return across.status();
  plan.score.row_reducer = *row;
  plan.score.across_reducer = *across;
  plan.top_n = request.top_n();
  if (request.order() != v1::ORDER_DESCENDING && request.order() != v1::ORDER_ASCENDING) {
    return FieldError("order", "must be ORDER_DESCENDING or ORDER_ASCENDING");
  }
  plan.ascending = request.order() == v1::ORDER_ASCENDING;

  // ---- headers ----
  if (absl::Status status = ValidateHeaders(request.headers(), "headers", limits); !status.ok()) {
    return status;
  }
  for (const v1::Header& header : request.headers()) {
    plan.common_headers.emplace_back(header.name(), header.value());
  }
  if (!plan.common_headers.empty()) {
    plan.common_header_set = std::make_shared<fetch::HeaderSet>(plan.common_headers);
  }

  // ---- jobs or discovery ----
  bool has_discovery = request.has_discovery();
  if (has_discovery && request.jobs_size() > 0) {
    return FieldError("jobs", "give either jobs or discovery, not both");
  }
  if (!has_discovery && request.jobs_size() == 0) {
    return FieldError("jobs", "the job list is empty (give jobs or discovery)");
  }
  if (has_discovery) {
    const v1::Discovery& discovery = request.discovery();
    plan.discovery = true;
    if (absl::Status status = ValidateUrl("discovery.index_url", discovery.index_url(), limits);
        !status.ok()) {
      return status;
    }
    plan.index_url = discovery.index_url();
    auto keys = extract::ParseJsonPointer(discovery.keys_pointer());
    if (!keys.ok()) return FieldError("discovery.keys_pointer", keys.status().message());
    plan.keys_pointer = *std::move(keys);
    auto tmpl = extract::UrlTemplate::Parse(discovery.url_template());
    if (!tmpl.ok()) return FieldError("discovery.url_template", tmpl.status().message());
    plan.url_template = *std::move(tmpl);
    plan.max_keys = discovery.max_keys() == 0 ? limits.max_jobs
                                              : std::min<uint64_t>(discovery.max_keys(), limits.max_jobs);
    return plan;
  }
  if (static_cast<uint64_t>(request.jobs_size()) > limits.max_jobs) {
    return FieldError("jobs", absl::StrCat("more than the server's maximum of ", limits.max_jobs,
                                           " jobs"));
  }
  plan.jobs.reserve(static_cast<size_t>(request.jobs_size()));
  for (int i = 0; i < request.jobs_size(); ++i) {
    const v1::Job& job = request.jobs(i);
    std::string field = absl::StrCat("jobs[", i, "]");
    if (absl::Status status = ValidateUrl(absl::StrCat(field, ".url"), job.url(), limits);
        !status.ok()) {
      return status;
    }
    RankJob rank_job;
    rank_job.id = job.id().empty() ? job.url() : job.id();
    rank_job.url = job.url();
    if (job.headers_size() > 0) {
      if (absl::Status status = ValidateHeaders(job.headers(), absl::StrCat(field, ".headers"), limits);
          !status.ok()) {
        return status;
      }
      HeaderList merged = plan.common_headers;
      for (const v1::Header& header : job.headers()) merged.emplace_back(header.name(), header.value());
      rank_job.headers = std::make_shared<fetch::HeaderSet>(merged);
    } else {
      rank_job.headers = plan.common_header_set;
    }
    plan.jobs.push_back(std::move(rank_job));
  }
  return plan;
}

}  // namespace gather::rpc
