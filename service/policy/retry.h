// Retry decisions for idempotent requests: which answers are worth another attempt, exponential
// backoff with full jitter, Retry-After parsing, and a retry budget that caps retries at a share
// of requests (plus a small floor per second) so an outage does not multiply the load on an
// upstream (the scheme of Envoy's and Finagle's retry budgets). Pure: time and randomness come
// from the caller. RetryBudget is not thread-safe (one owner: the engine's loop thread).
#ifndef GATHER_SERVICE_POLICY_RETRY_H_
#define GATHER_SERVICE_POLICY_RETRY_H_

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gather::policy {

// Connection refused or reset, and HTTP 429, 502, 503, 504 are retried; nothing else.
bool IsRetryableHttpStatus(int http_status);

struct BackoffPolicy {
  absl::Duration base = absl::Milliseconds(100);
  absl::Duration cap = absl::Seconds(10);
};

// Full jitter: a uniform wait in [0, min(cap, base * 2^(retry - 1))], `retry` >= 1 being the
// number of the retry about to be made and `random01` a uniform number in [0, 1).
absl::Duration Backoff(int retry, const BackoffPolicy& policy, double random01);

// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date (IMF-fixdate
// "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 or asctime forms). Returns the wait from `now` (zero
// for a date in the past), or nullopt when the value is not valid.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

class RetryBudget {
 public:
  // Retries may be at most `ratio` of requests, plus `min_per_second` earned with time; at most
  // `max_balance` unspent retries are kept, so a long healthy spell does not bank a storm.
  RetryBudget(double ratio, double min_per_second, double max_balance, absl::Time now);

  // A first attempt was made.
  void OnRequest(absl::Time now);
  // Spends one retry if the budget allows it (hedges: an extra request that is not needed).
  bool TryRetry(absl::Time now);
  // Spends one retry whether or not the budget has it, going into debt: returns how long the
  // retry must wait until `min_per_second` has earned the debt back (zero when the budget had
  // it). Waiting retries thus go out at most `min_per_second` (plus `ratio` of requests) per
  // second: a batch's retries wait for the budget instead of failing.
  absl::Duration Reserve(absl::Time now);
  // Gives back a Reserve that was not used (the retry would have started past a deadline).
  void Refund() { balance_ = std::min(max_balance_, balance_ + 1.0); }
  double balance() const { return balance_; }

 private:
  void Earn(absl::Time now);

  double ratio_;
  double min_per_second_;
  double max_balance_;
  double balance_;
  absl::Time last_;
};

}  // namespace gather::policy

#endif  // GATHER_SERVICE_POLICY_RETRY_H_
