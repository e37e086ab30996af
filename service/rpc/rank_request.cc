#include "service/rpc/rank_request.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/url.h"
#include "service/extract/http_url.h"

namespace gather::rpc {
namespace {

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

absl::StatusOr<RankPlan> BuildRankPlan(const v1::FetchAndRankRequest& request,
                                       const config::Limits& limits,
                                       const auth::CredentialProfile* credential) {
  RankPlan plan;
  // ---- policy ----
  auto policy = ResolvePolicy(request.policy(), "policy", limits);
  if (!policy.ok()) return policy.status();
  plan.policy = *std::move(policy);
  plan.policy.no_redirects = credential != nullptr;

  // ---- fields ----
  auto extraction = ParseExtraction(request.fields(), request.required(), "", limits);
  if (!extraction.ok()) return extraction.status();
  plan.fields = std::move(extraction->fields);
  plan.required = std::move(extraction->required);

  // ---- score ----
  if (!request.has_score() && plan.fields.empty()) {
    return FieldError("score", "a score spec is required (or fields to extract)");
  }
  if (request.has_score()) {
    extract::ScoreSpec score;
    auto values = common::ParseJsonPointer(request.score().values_pointer());
    if (!values.ok()) return FieldError("score.values_pointer", values.status().message());
    score.values = *std::move(values);
    score.skip_columns = request.score().skip_columns();
    auto row = ToReducer(request.score().row_reducer(), "score.row_reducer");
    if (!row.ok()) return row.status();
    auto across = ToReducer(request.score().across_reducer(), "score.across_reducer");
    if (!across.ok()) return across.status();
    score.row_reducer = *row;
    score.across_reducer = *across;
    plan.score = std::move(score);
  }

  // ---- method and body ----
  auto method = ParseMethod(request.method(), "method");
  if (!method.ok()) return method.status();
  plan.method = *method;
  if (!request.body().empty()) {
    if (plan.method == fetch::Method::kGet || plan.method == fetch::Method::kHead) {
      return FieldError("body", "GET and HEAD requests have no body (set method)");
    }
    if (request.body().size() > limits.max_request_body_bytes) {
      return FieldError("body", absl::StrCat("longer than the server's ",
                                             limits.max_request_body_bytes, " bytes"));
    }
    plan.body = request.body();
  }
  if (plan.method == fetch::Method::kHead && (plan.score || !plan.fields.empty())) {
    return FieldError("method", "HEAD answers have no body to score or extract from");
  }
  auto paging = BuildPagingPlan(request.paging(), "paging");
  if (!paging.ok()) return paging.status();
  plan.paging = *std::move(paging);
  if (plan.paging) {
    if (plan.score) {
      return FieldError("paging", "pages are for fields: a job with pages has no one score");
    }
    if (plan.method == fetch::Method::kHead) {
      return FieldError("method", "HEAD answers have no pages to follow");
    }
    plan.paging->keep_headers_across_origins =
        request.policy().redirect_keeps_headers() && credential == nullptr;
  }
  plan.top_n = request.top_n();
  if (request.order() != v1::ORDER_DESCENDING && request.order() != v1::ORDER_ASCENDING) {
    return FieldError("order", "must be ORDER_DESCENDING or ORDER_ASCENDING");
  }
  plan.ascending = request.order() == v1::ORDER_ASCENDING;

  // ---- headers ----
  if (absl::Status status = ValidateHeaders(request.headers(), "headers", limits); !status.ok()) {
    return status;
  }
  bool has_content_type = false;
  for (const v1::Header& header : request.headers()) {
    has_content_type |= absl::EqualsIgnoreCase(header.name(), "content-type");
    plan.common_headers.emplace_back(header.name(), header.value());
  }
  if (!plan.body.empty() && !has_content_type) {
    plan.common_headers.emplace_back("Content-Type", "application/json");
  }
  if (credential != nullptr) {
    if (absl::Status status = AddCredentialHeaders(*credential, "headers", plan.common_headers);
        !status.ok()) {
      return status;
    }
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
    if (credential != nullptr) {
      if (absl::Status status = CheckCredentialHost(*credential, "discovery.index_url",
                                                    common::HostOf(discovery.index_url()));
          !status.ok()) {
        return status;
      }
    }
    auto keys = common::ParseJsonPointer(discovery.keys_pointer());
    if (!keys.ok()) return FieldError("discovery.keys_pointer", keys.status().message());
    plan.keys_pointer = *std::move(keys);
    auto tmpl = extract::ParseUrlTemplate(discovery.url_template());
    if (!tmpl.ok()) return FieldError("discovery.url_template", tmpl.status().message());
    if (credential != nullptr) {
      if (absl::Status status = CheckCredentialHost(*credential, "discovery.url_template",
                                                    common::HostOf(tmpl->Expand("k")));
          !status.ok()) {
        return status;
      }
    }
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
    if (credential != nullptr) {
      if (absl::Status status = CheckCredentialHost(*credential, absl::StrCat(field, ".url"),
                                                    common::HostOf(job.url()));
          !status.ok()) {
        return status;
      }
    }
    RankJob rank_job;
    rank_job.id = job.id().empty() ? job.url() : job.id();
    rank_job.url = job.url();
    if (job.headers_size() > 0) {
      if (absl::Status status = ValidateHeaders(job.headers(), absl::StrCat(field, ".headers"), limits);
          !status.ok()) {
        return status;
      }
      HeaderList own;
      for (const v1::Header& header : job.headers()) own.emplace_back(header.name(), header.value());
      if (credential != nullptr) {
        // Refuses a job header named like one of the profile's (the copy is then dropped).
        HeaderList checked = own;
        if (absl::Status status =
                AddCredentialHeaders(*credential, absl::StrCat(field, ".headers"), checked);
            !status.ok()) {
          return status;
        }
      }
      HeaderList merged = plan.common_headers;
      merged.insert(merged.end(), own.begin(), own.end());
      rank_job.headers = std::make_shared<fetch::HeaderSet>(merged);
    } else {
      rank_job.headers = plan.common_header_set;
    }
    plan.jobs.push_back(std::move(rank_job));
  }
  return plan;
}

}  // namespace gather::rpc
