#include "service/ratestore/redis_store.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gather::ratestore {
namespace {

// KEYS: the bucket (one per host and rate), the host's cooldown, the quota window's counter.
// ARGV: rate, burst, tokens wanted, quota limit (-1: none), the window's end (ms since epoch).
// Returns {granted, wait_ms, quota_left (-1: none), quota_spent, cooling_down}. Time is Redis's.
constexpr char kLeaseScript[] = R"lua(
local cool = redis.call('PTTL', KEYS[2])
if cool > 0 then return {0, cool, -1, 0, 1} end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local left = -1
if limit >= 0 then
  left = limit - tonumber(redis.call('GET', KEYS[3]) or '0')
  if left <= 0 then return {0, 0, 0, 1, 0} end
  if want > left then want = left end
end
local granted = want
local wait = 0
if rate > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
  local tokens = tonumber(b[1])
  local ts = tonumber(b[2])
  if tokens == nil or ts == nil then
    tokens = burst
    ts = now
  end
  if now > ts then tokens = math.min(burst, tokens + (now - ts) * rate / 1000000) end
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
  if granted <= 0 then
    granted = 0
    wait = math.ceil((1 - tokens) * 1000 / rate)
  end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[1], 60000)
end
if limit >= 0 and granted > 0 then
  redis.call('INCRBY', KEYS[3], granted)
  redis.call('PEXPIREAT', KEYS[3], ARGV[5])
  left = left - granted
end
return {granted, wait, left, 0, 0}
)lua";

// KEYS: the host's cooldown. ARGV: its length in ms. A longer pause already set stays.
constexpr char kCooldownScript[] = R"lua(
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
)lua";

timeval TimeoutOf(absl::Duration d) {
  return absl::ToTimeval(std::max(d, absl::Milliseconds(1)));
}

struct ReplyDeleter {
  void operator()(void* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Runs one command; nullptr with `why` on a connection error or a Redis error reply.
ReplyPtr Command(redisContext* context, const std::vector<std::string>& args, std::string& why) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  ReplyPtr reply(static_cast<redisReply*>(redisCommandArgv(
      context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (reply == nullptr) {
    why = context->errstr[0] != '\0' ? context->errstr : "no answer";
    return nullptr;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    why = std::string(reply->str, reply->len);
    return nullptr;
  }
  return reply;
}

}  // namespace

absl::StatusOr<RedisOptions> ParseRedisUrl(absl::string_view url) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--rate_store: \"", url, "\": ", why));
  };
  RedisOptions options;
  absl::string_view rest = url;
  if (absl::StartsWith(rest, "rediss://")) {
    return bad("TLS (rediss://) is not supported by this build's hiredis (0.14); reach a TLS "
               "Redis through a local TLS proxy (e.g. stunnel) and name it redis://");
  }
  const bool unix_socket = absl::ConsumePrefix(&rest, "unix://");
  if (!unix_socket && !absl::ConsumePrefix(&rest, "redis://")) {
    return bad("expected redis://HOST:PORT[/DB] or unix:///PATH");
  }
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (size_t colon = userinfo.find(':'); colon != absl::string_view::npos) {
      options.username = std::string(userinfo.substr(0, colon));
      options.password = std::string(userinfo.substr(colon + 1));
    } else {
      options.password = std::string(userinfo);
    }
  }
  if (unix_socket) {
    if (size_t query = rest.find("?db="); query != absl::string_view::npos) {
      if (!absl::SimpleAtoi(rest.substr(query + 4), &options.db) || options.db < 0) {
        return bad("the database is not a number");
      }
      rest = rest.substr(0, query);
    }
    if (rest.empty() || rest.front() != '/') return bad("expected unix:///PATH");
    options.unix_path = std::string(rest);
    return options;
  }
  absl::string_view hostport = rest;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    hostport = rest.substr(0, slash);
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &options.db) || options.db < 0)) {
      return bad("the database is not a number");
    }
  }
  if (hostport.empty()) return bad("no host");
  if (hostport.front() == '[') {  // [IPv6]:port
    size_t close = hostport.find(']');
    if (close == absl::string_view::npos) return bad("unclosed [");
    options.host = std::string(hostport.substr(1, close - 1));
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && !absl::ConsumePrefix(&hostport, ":")) return bad("bad port");
    if (!hostport.empty() && !absl::SimpleAtoi(hostport, &options.port)) return bad("bad port");
  } else if (size_t colon = hostport.rfind(':'); colon != absl::string_view::npos) {
    options.host = std::string(hostport.substr(0, colon));
    if (!absl::SimpleAtoi(hostport.substr(colon + 1), &options.port)) return bad("bad port");
  } else {
    options.host = std::string(hostport);
  }
  if (options.port <= 0 || options.port > 65535) return bad("bad port");
  return options;
}

RedisRateStore::RedisRateStore(RedisOptions options,
                               std::function<void(bool, const std::string&)> on_health)
    : options_(std::move(options)),
      on_health_(std::move(on_health)),
      fallback_(options_.replicas),
      thread_([this] { Run(); }) {}

RedisRateStore::~RedisRateStore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  Disconnect();
}

void RedisRateStore::Lease(LeaseRequest request, std::function<void(const LeaseReply&)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Item{true, std::move(request), std::move(done), absl::InfinitePast()});
  }
  wake_.notify_one();
}

void RedisRateStore::Cooldown(const std::string& host, absl::Time until) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Item item;
    item.lease = false;
    item.request.host = host;
    item.until = until;
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
}

bool RedisRateStore::Connect(std::string& why) {
  Disconnect();
  timeval timeout = TimeoutOf(options_.timeout);
  redisContext* context =
      options_.unix_path.empty()
          ? redisConnectWithTimeout(options_.host.c_str(), options_.port, timeout)
          : redisConnectUnixWithTimeout(options_.unix_path.c_str(), timeout);
  if (context == nullptr || context->err != 0) {
    why = context != nullptr ? context->errstr : "cannot allocate a connection";
    if (context != nullptr) redisFree(context);
    return false;
  }
  redisSetTimeout(context, timeout);
  if (!options_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options_.username.empty()) auth.push_back(options_.username);
    auth.push_back(options_.password);
    if (Command(context, auth, why) == nullptr) {
      why = absl::StrCat("AUTH: ", why);
      redisFree(context);
      return false;
    }
  }
  if (options_.db != 0 &&
      Command(context, {"SELECT", absl::StrCat(options_.db)}, why) == nullptr) {
    why = absl::StrCat("SELECT: ", why);
    redisFree(context);
    return false;
  }
  context_ = context;
  return true;
}

void RedisRateStore::Disconnect() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
}

bool RedisRateStore::RoundTrip(std::vector<Item>& items, std::vector<LeaseReply>& replies,
                               std::vector<bool>& answered, std::string& why) {
  const absl::Time now = absl::Now();
  for (Item& item : items) {
    std::vector<std::string> args;
    if (item.lease) {
      const LeaseRequest& r = item.request;
      std::string quota_key = absl::StrCat(options_.prefix, "noquota");
      int64_t limit = -1;
      int64_t window_end_ms = 0;
      if (r.quota) {
        QuotaWindow window = WindowAt(*r.quota, now);
        quota_key = absl::StrCat(options_.prefix, "quota:", r.host, ":", window.id);
        limit = r.quota->limit;
        window_end_ms = absl::ToUnixMillis(window.end) + 3600 * 1000;  // kept an hour after
      }
      args = {"EVAL",
              kLeaseScript,
              "3",
              absl::StrCat(options_.prefix, "bucket:", r.host, ":", r.rate),
              absl::StrCat(options_.prefix, "cool:", r.host),
              quota_key,
              absl::StrCat(r.rate),
              absl::StrCat(std::max(1.0, r.burst)),
              absl::StrCat(std::max(1, r.want)),
              absl::StrCat(limit),
              absl::StrCat(window_end_ms)};
    } else {
      int64_t ms = absl::ToInt64Milliseconds(item.until - now);
      if (ms <= 0) ms = 1;
      args = {"EVAL", kCooldownScript, "1", absl::StrCat(options_.prefix, "cool:", item.request.host),
              absl::StrCat(ms)};
    }
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      why = context_->errstr;
      return false;
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      why = context_->errstr[0] != '\0' ? context_->errstr : "no answer";
      return false;
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      why = std::string(reply->str, reply->len);
      return false;
    }
    if (!items[i].lease) {
      answered[i] = true;
      continue;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 5) {
      why = "unexpected answer to the lease script";
      return false;
    }
    auto at = [&](size_t k) { return reply->element[k]->integer; };
    const LeaseRequest& r = items[i].request;
    LeaseReply& out = replies[i];
    out.granted = static_cast<int>(at(0));
    out.quota_left = r.quota ? at(2) : -1;
    out.quota_spent = at(3) != 0;
    out.cooling_down = at(4) != 0;
    out.retry_in = absl::Milliseconds(at(1));
    if (out.quota_spent) out.quota_reset = WindowAt(*r.quota, now).end;
    answered[i] = true;
  }
  return true;
}

void RedisRateStore::Run() {
  // hiredis writes with write(): to a Redis that died that raises SIGPIPE, which would kill the
  // process. Blocked in this thread only, it stays pending (drained below) and write fails EPIPE.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  std::vector<Item> items;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      items.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    std::vector<LeaseReply> replies(items.size());
    std::vector<bool> answered(items.size(), false);
    const absl::Time now = absl::Now();
    std::string why;
    if (context_ == nullptr && now >= next_connect_) {
      if (!Connect(why)) next_connect_ = now + options_.reconnect_every;
    }
    if (context_ != nullptr && !RoundTrip(items, replies, answered, why)) {
      Disconnect();
      next_connect_ = absl::Now() + options_.reconnect_every;
      const timespec now_only = {0, 0};
      while (sigtimedwait(&pipe, nullptr, &now_only) == SIGPIPE) {
      }
    }
    const bool up = context_ != nullptr;
    if (!reported_ || up != up_.load(std::memory_order_relaxed)) {
      up_.store(up, std::memory_order_relaxed);
      reported_ = true;
      if (on_health_) on_health_(up, why);
    }
    const absl::Time local_now = absl::Now();
    for (size_t i = 0; i < items.size(); ++i) {
      if (!answered[i]) {
        if (items[i].lease) {
          replies[i] = fallback_.Lease(items[i].request, local_now);
          fallback_leases_.fetch_add(1, std::memory_order_relaxed);
        } else {
          fallback_.Cooldown(items[i].request.host, items[i].until);
        }
      }
      if (items[i].lease && items[i].done) items[i].done(replies[i]);
    }
    items.clear();
  }
}

}  // namespace gather::ratestore
