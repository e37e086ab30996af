// RedisRateStore: the RateStore shared by every gatherd on one Redis (--rate_store).
//
// One thread owns the hiredis connection. It takes the leases and cooldowns queued since its last
// round trip, pipelines them (one Lua script call each: the token bucket on Redis's own clock,
// the shared cooldown and the quota, atomically), and calls back with the answers. A request
// waits at most the timeout (250 ms by default) for Redis. When Redis cannot be reached, or does
// not answer in time, every answer comes from a LocalBudget at rate / replicas until a
// connection succeeds again (tried at most once a second); on_health hears of each change.
#ifndef GATHER_SERVICE_RATESTORE_REDIS_STORE_H_
#define GATHER_SERVICE_RATESTORE_REDIS_STORE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/ratestore/local_budget.h"
#include "service/ratestore/rate_store.h"

struct redisContext;

namespace gather::ratestore {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // not empty: a Unix socket instead of host:port
  int db = 0;
  std::string username;  // Redis 6 ACL user; empty: the default user
  std::string password;  // empty: no AUTH
  absl::Duration timeout = absl::Milliseconds(250);
  absl::Duration reconnect_every = absl::Seconds(1);
  int replicas = 1;  // the fallback's share: rate / replicas
  std::string prefix = "gather:";  // key prefix
};

// redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], or unix://[[USER]:PASSWORD@]/PATH[?db=N]. rediss:// (TLS) is refused: Debian 12's hiredis
// (0.14) has no TLS; reach a TLS Redis through a local TLS proxy. INVALID_ARGUMENT naming
// --rate_store otherwise.
absl::StatusOr<RedisOptions> ParseRedisUrl(absl::string_view url);

class RedisRateStore final : public RateStore {
 public:
  // on_health(up, why): called on the store's thread when the store goes down or comes back.
  RedisRateStore(RedisOptions options, std::function<void(bool, const std::string&)> on_health);
  ~RedisRateStore() override;
  RedisRateStore(const RedisRateStore&) = delete;
  RedisRateStore& operator=(const RedisRateStore&) = delete;

  void Lease(LeaseRequest request, std::function<void(const LeaseReply&)> done) override;
  void Cooldown(const std::string& host, absl::Time until) override;
  bool healthy() const override { return up_.load(std::memory_order_relaxed); }

  // Leases answered by the local fallback so far (a metric).
  int64_t fallback_leases() const { return fallback_leases_.load(std::memory_order_relaxed); }

 private:
  struct Item {
    bool lease = true;
    LeaseRequest request;
    std::function<void(const LeaseReply&)> done;
    absl::Time until;  // cooldowns
  };
  void Run();
  bool Connect(std::string& why);
  void Disconnect();
  // Sends `items` in one pipeline and fills `replies`; false (and `why`) when the connection
  // failed part way: the items without a reply are answered locally.
  bool RoundTrip(std::vector<Item>& items, std::vector<LeaseReply>& replies,
                 std::vector<bool>& answered, std::string& why);

  const RedisOptions options_;
  const std::function<void(bool, const std::string&)> on_health_;
  std::atomic<bool> up_{false};
  std::atomic<int64_t> fallback_leases_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_

  // The store's thread only:
  redisContext* context_ = nullptr;
  absl::Time next_connect_ = absl::InfinitePast();
  bool reported_ = false;  // on_health_ was told the first state
  LocalBudget fallback_;
  std::thread thread_;
};

}  // namespace gather::ratestore

#endif  // GATHER_SERVICE_RATESTORE_REDIS_STORE_H_
