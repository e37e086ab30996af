#include "service/rpc/status_convert.h"

#include "absl/strings/str_cat.h"

namespace gather::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

namespace {

v1::JobStatus JobStatusOfOutcome(const fetch::FetchResult& result, int follow_redirects,
                                 std::string* error) {
  using fetch::FetchOutcome;
  switch (result.outcome) {
    case FetchOutcome::kResponse: break;
    case FetchOutcome::kTimeout: *error = result.error; return v1::JOB_STATUS_TIMEOUT;
    case FetchOutcome::kConnectError: *error = result.error; return v1::JOB_STATUS_CONNECT_ERROR;
    case FetchOutcome::kDnsError: *error = result.error; return v1::JOB_STATUS_DNS_ERROR;
    case FetchOutcome::kTlsError: *error = result.error; return v1::JOB_STATUS_TLS_ERROR;
    case FetchOutcome::kTooLarge: *error = result.error; return v1::JOB_STATUS_TOO_LARGE;
    case FetchOutcome::kRedirectError: *error = result.error; return v1::JOB_STATUS_REDIRECT_ERROR;
    case FetchOutcome::kBlocked: *error = result.error; return v1::JOB_STATUS_BLOCKED;
    case FetchOutcome::kBadContent: *error = result.error; return v1::JOB_STATUS_BAD_CONTENT;
    case FetchOutcome::kCancelled: *error = result.error; return v1::JOB_STATUS_CANCELLED;
    case FetchOutcome::kQuotaSpent: *error = result.error; return v1::JOB_STATUS_RATE_LIMITED;
    case FetchOutcome::kError:
      *error = result.error;
      return v1::JOB_STATUS_CONNECT_ERROR;
  }
  int code = result.http_status;
  if (code >= 200 && code < 300) return v1::JOB_STATUS_OK;
  if (code == 429) {
    *error = "HTTP 429 Too Many Requests";
    return v1::JOB_STATUS_RATE_LIMITED;
  }
  if (code >= 300 && code < 400) {
    *error = follow_redirects == 0
                 ? absl::StrCat("HTTP ", code, " redirect not followed (--follow_redirects=0)")
                 : absl::StrCat("HTTP ", code, " redirect not followed");
    return v1::JOB_STATUS_REDIRECT_ERROR;
  }
  *error = absl::StrCat("HTTP ", code);
  return v1::JOB_STATUS_HTTP_ERROR;
}

}  // namespace

v1::JobStatus JobStatusOf(const fetch::FetchResult& result, int follow_redirects,
                          std::string* error) {
  v1::JobStatus status = JobStatusOfOutcome(result, follow_redirects, error);
  if (status != v1::JOB_STATUS_OK && !result.note.empty()) {
    absl::StrAppend(error, " (", result.note, ")");
  }
  if (status != v1::JOB_STATUS_OK && result.attempts > 1) {
    absl::StrAppend(error, " after ", result.attempts, " attempts");
  }
  return status;
}

}  // namespace gather::rpc
