// Plain types crossing the fetch engine's boundary. No curl types leak out of service/fetch.
#ifndef GATHER_SERVICE_FETCH_FETCH_TYPES_H_
#define GATHER_SERVICE_FETCH_FETCH_TYPES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gather::fetch {

// An immutable list of request headers ("Name: value"), shared by every job of an RPC. The
// native header list is built once here, so jobs do not rebuild it per transfer.
class HeaderSet {
 public:
  explicit HeaderSet(const std::vector<std::pair<std::string, std::string>>& headers);
  ~HeaderSet();
  HeaderSet(const HeaderSet&) = delete;
  HeaderSet& operator=(const HeaderSet&) = delete;

  // The engine's native list (a curl_slist*); nullptr when empty. Read-only.
  const void* native() const { return native_; }
  // Every header line, for telling identical requests apart (coalescing). Holds header values:
  // never log it.
  const std::string& signature() const { return signature_; }
  // The headers a redirect to another origin may carry (service/fetch/redirect.h).
  std::shared_ptr<const HeaderSet> RedirectSafe() const;

 private:
  std::vector<std::pair<std::string, std::string>> headers_;
  void* native_ = nullptr;
  std::string signature_;
};

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete };

absl::string_view MethodName(Method method);  // "GET", "HEAD", ...

struct FetchRequest {
  std::string url;
  // Lower-case host of `url`; filled by the engine when empty. Per-host caps count by it.
  std::string host;
  std::shared_ptr<const HeaderSet> headers;  // may be null
  // Counted from the start of the transfer; also bounded by the group's deadline.
  absl::Duration timeout = absl::Seconds(10);
  uint64_t max_body_bytes = 8u << 20;
  Method method = Method::kGet;
  // Sent with POST, PUT, PATCH and DELETE when not empty (its Content-Type is in `headers`).
  std::string body;
  // The caller says repeating this request is harmless although its method is POST or PATCH.
  // GET, HEAD, PUT and DELETE are idempotent anyway (RFC 9110 9.2.2).
  bool idempotent = false;
  // Transfers allowed for this job (1 = no retries). Connection failures and HTTP 429, 502, 503
  // and 504 are retried with backoff, Retry-After as the minimum wait, within the group's
  // deadline and the host's retry budget. A request that is not idempotent (IsIdempotent) is
  // retried only where it was certainly not processed: the connection was refused before
  // anything was sent, 429, or 503 with Retry-After.
  int max_attempts = 1;
  // Identical requests (method, URL, headers, body, body cap) with this set may share one fetch:
  // while one is queued or in flight, and for the engine's coalescing window after it answered.
  // Only idempotent requests are shared.
  bool coalesce = false;
  // Never follow redirects for this job, whatever the engine's setting (a 3xx ends it with
  // kRedirectError): set when its headers hold secrets meant for one host only.
  bool no_redirects = false;
  // Send every header on redirects to another origin too. Off: such a hop carries only the
  // headers redirect.h lists as safe (none that can hold a credential).
  bool redirect_keeps_headers = false;
};

// GET, HEAD, PUT and DELETE, or any method the request says is idempotent: such a request may be
// retried after any retryable failure, hedged and shared.
bool IsIdempotent(const FetchRequest& request);

// How a transfer ended, before any content is looked at.
enum class FetchOutcome {
  kResponse,       // an HTTP response arrived whole; see http_status
  kTimeout,        // the job's timeout or the group's deadline ended it
  kConnectError,   // refused, reset, broken mid-transfer
  kDnsError,
  kTlsError,
  kTooLarge,       // body over max_body_bytes (on the wire or decompressed), or headers too big
  kRedirectError,  // too many redirects or a redirect to a forbidden scheme
  kBlocked,        // the egress policy refused the address
  kBadContent,     // undecodable content encoding
  kCancelled,      // the group was cancelled or the engine is stopping
  kQuotaSpent,     // the host's quota (--host_quota) is spent: nothing was sent
  kError,          // anything else (the message says what)
};

absl::string_view FetchOutcomeName(FetchOutcome outcome);

struct FetchResult {
  FetchOutcome outcome = FetchOutcome::kError;
  int http_status = 0;
  // The (decompressed) body. Has spare capacity for parsers that read past the end.
  std::string body;
  std::string error;  // empty for kResponse
  // Why the last failure was not retried ("retry budget exhausted", ...); may be empty.
  std::string note;
  // Time spent waiting before transfers: for a slot, a rate token or a retry's backoff, summed
  // over attempts.
  absl::Duration queue_wait = absl::ZeroDuration();
  absl::Duration latency = absl::ZeroDuration();  // start -> end of the last transfer
  // The part of queue_wait its retries spent waiting for the host's retry budget.
  absl::Duration budget_wait = absl::ZeroDuration();
  uint32_t attempts = 0;                          // transfers made
  // The answer of an identical request this job shared (no transfer of its own: attempts 0).
  bool shared = false;
  // The last transfer failed to connect: no byte of the request went out.
  bool not_sent = false;
  // With a response: its Link header (several lines joined with ", "), empty when none; and the
  // URL that answered when redirects were followed (empty: the request's URL answered).
  std::string link;
  std::string final_url;
};

// Receives the completion of every job submitted to a group, on one of the engine's loop threads
// (several may call at once), exactly once per job, also when the engine stops. Implementations must not block and must stay
// alive until their last job's completion has been delivered.
class FetchSink {
 public:
  virtual ~FetchSink() = default;
  virtual void OnFetchDone(uint64_t tag, FetchResult& result) = 0;
};

struct GroupOptions {
  // Maximum transfers of this group in flight at once (>= 1).
  int max_concurrency = 50;
  // Queued jobs still waiting at this time end with kTimeout, and transfers are cut at it.
  absl::Time deadline = absl::InfiniteFuture();
  // Requests per second this group asks for, per host it fetches from (0: no limit of its own).
  // A host's bucket is shared by every group: it runs at the lowest rate asked for by the groups
  // using it and the server's own limit for that host.
  double rate = 0;
  double burst = 0;  // 0: 10% of the rate, at least 1
  // Let the engine find each host's limit (AIMD on 429/503 and latency); `rate`, when set, stays a
  // ceiling.
  bool rate_auto = false;
  // Hedging: when a transfer has not answered after this long, a second identical transfer is
  // started and the first answer wins (the other is cancelled; a failed transfer never wins
  // while its twin runs). A hedge takes a slot of the group and of the host and a rate token
  // like any transfer, and spends the host's retry budget. Unset: no fixed delay.
  std::optional<absl::Duration> hedge_after;
  // Hedge after a delay found from the host's own answers (service/fetch/hedger.h).
  bool hedge_auto = false;
};

using GroupId = uint64_t;

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_FETCH_TYPES_H_
