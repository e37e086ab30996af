#include "service/fetch/curl_outcome.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace gather::fetch {

void ClassifyCurlResult(CURLcode code, const TransferFindings& findings, FetchResult* result) {
  auto curl_error = [&] {
    return !findings.error_buffer.empty() ? std::string(findings.error_buffer)
                                          : std::string(curl_easy_strerror(code));
  };
  if (code == CURLE_OK) {
    result->outcome = FetchOutcome::kResponse;
    return;
  }
  if (findings.blocked) {
    result->outcome = FetchOutcome::kBlocked;
    result->error = findings.blocked_reason;
    return;
  }
  if (findings.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    result->outcome = FetchOutcome::kTooLarge;
    result->error = findings.too_large && code != CURLE_FILESIZE_EXCEEDED
                        ? absl::StrCat("response over ", findings.max_body_bytes,
                                       " bytes (body or headers)")
                        : absl::StrCat("body over ", findings.max_body_bytes, " bytes");
    return;
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      result->outcome = FetchOutcome::kTimeout;
      result->error = findings.deadline_bound
                          ? "the RPC deadline was reached during the transfer"
                          : absl::StrCat("timed out after ", absl::FormatDuration(findings.timeout));
      return;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      result->outcome = FetchOutcome::kDnsError;
      break;
    case CURLE_COULDNT_CONNECT:
      result->outcome = FetchOutcome::kConnectError;
      result->not_sent = true;
      break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      result->outcome = FetchOutcome::kConnectError;
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      result->outcome = FetchOutcome::kTlsError;
      break;
    case CURLE_UNSUPPORTED_PROTOCOL:
      if (absl::StrContains(findings.error_buffer, "HTTP/0.9")) {
        // Not an HTTP answer at all (libcurl refuses HTTP/0.9).
        result->outcome = FetchOutcome::kConnectError;
        result->error = absl::StrCat("the upstream did not answer with HTTP (", curl_error(), ")");
        return;
      }
      result->outcome = FetchOutcome::kError;
      break;
    case CURLE_OUT_OF_MEMORY:
      // libcurl 7.88 reports a response header line over its own limit (100 KB) this way.
      result->outcome = FetchOutcome::kTooLarge;
      result->error = absl::StrCat("response headers too large (", curl_error(), ")");
      return;
    case CURLE_BAD_CONTENT_ENCODING:
      result->outcome = FetchOutcome::kBadContent;
      break;
    default:
      result->outcome = FetchOutcome::kError;
      break;
  }
  result->error = curl_error();
}

}  // namespace gather::fetch
