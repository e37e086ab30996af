// What a finished curl transfer means for its job: CURLcode and the transfer's own findings ->
// FetchOutcome and a message. Pure.
#ifndef GATHER_SERVICE_FETCH_CURL_OUTCOME_H_
#define GATHER_SERVICE_FETCH_CURL_OUTCOME_H_

#include <curl/curl.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/fetch/fetch_types.h"

namespace gather::fetch {

// What the transfer's callbacks saw, beside the CURLcode.
struct TransferFindings {
  bool blocked = false;            // the egress policy refused an address
  std::string blocked_reason;
  bool too_large = false;          // body or headers over the caps
  uint64_t max_body_bytes = 0;
  bool deadline_bound = false;     // the group deadline, not the job timeout, set the curl timeout
  absl::Duration timeout = absl::ZeroDuration();  // the job's timeout
  absl::string_view error_buffer;  // curl's CURLOPT_ERRORBUFFER text, may be empty
};

// Sets result->outcome and result->error for `code` (CURLE_OK: kResponse).
void ClassifyCurlResult(CURLcode code, const TransferFindings& findings, FetchResult* result);

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_CURL_OUTCOME_H_
