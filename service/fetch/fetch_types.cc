#include "service/fetch/fetch_types.h"

#include <curl/curl.h>

#include "absl/strings/str_cat.h"
#include "service/fetch/redirect.h"

namespace gather::fetch {

HeaderSet::HeaderSet(const std::vector<std::pair<std::string, std::string>>& headers)
    : headers_(headers) {
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) {
    // "Name;" is curl's way to send a header with an empty value.
    std::string line = value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value);
    absl::StrAppend(&signature_, line, "\n");
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) break;
    list = next;
  }
  native_ = list;
}

std::shared_ptr<const HeaderSet> HeaderSet::RedirectSafe() const {
  std::vector<std::pair<std::string, std::string>> safe;
  for (const auto& header : headers_) {
    if (IsRedirectSafeHeader(header.first)) safe.push_back(header);
  }
  return std::make_shared<const HeaderSet>(safe);
}

HeaderSet::~HeaderSet() { curl_slist_free_all(static_cast<curl_slist*>(native_)); }

absl::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
  }
  return "GET";
}

bool IsIdempotent(const FetchRequest& request) {
  return request.idempotent ||
         (request.method != Method::kPost && request.method != Method::kPatch);
}

absl::string_view FetchOutcomeName(FetchOutcome outcome) {
  switch (outcome) {
    case FetchOutcome::kResponse: return "RESPONSE";
    case FetchOutcome::kTimeout: return "TIMEOUT";
    case FetchOutcome::kConnectError: return "CONNECT_ERROR";
    case FetchOutcome::kDnsError: return "DNS_ERROR";
    case FetchOutcome::kTlsError: return "TLS_ERROR";
    case FetchOutcome::kTooLarge: return "TOO_LARGE";
    case FetchOutcome::kRedirectError: return "REDIRECT_ERROR";
    case FetchOutcome::kBlocked: return "BLOCKED";
    case FetchOutcome::kQuotaSpent: return "QUOTA_SPENT";
    case FetchOutcome::kBadContent: return "BAD_CONTENT";
    case FetchOutcome::kCancelled: return "CANCELLED";
    case FetchOutcome::kError: return "ERROR";
  }
  return "?";
}

}  // namespace gather::fetch
