#include "service/fetch/curl_engine.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "service/extract/url_template.h"

namespace gather::fetch {
namespace {

// Spare bytes kept past the end of every body so JSON parsers can read ahead without a copy
// (simdjson needs 64).
constexpr size_t kBodyPadding = 64;
constexpr size_t kInitialBodyCapacity = 2048;
constexpr int kMaxPollMs = 1000;
constexpr long kMaxHeaderBytes = 64 * 1024;

std::once_flag global_init_once;

}  // namespace

// Loop-thread state. Everything here except the inbox is touched only by the loop thread.
class CurlEngine::Loop {
 public:
  Loop(EngineOptions options, CURLM* multi, EngineStats* stats)
      : options_(std::move(options)), multi_(multi), stats_(stats) {}
  ~Loop();

  void set_stats(EngineStats* stats) { stats_ = stats; }

  // ---- called from any thread ----
  struct Command {
    enum class Kind { kOpen, kSubmit, kCancel, kClose, kStop };
    explicit Command(Kind k) : kind(k) {}
    Kind kind;
    GroupId group = 0;
    uint64_t tag = 0;
    FetchRequest request;
    FetchSink* sink = nullptr;
    GroupOptions options;
    FetchOutcome outcome = FetchOutcome::kCancelled;
    absl::Time submitted;
  };
  void Post(Command command) {
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      inbox_.push_back(std::move(command));
    }
    curl_multi_wakeup(multi_);
  }
  void PostMany(std::vector<Command> commands) {
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      for (auto& command : commands) inbox_.push_back(std::move(command));
    }
    curl_multi_wakeup(multi_);
  }

  // ---- the loop thread ----
  void Run();

 private:
  struct Group;
  struct Transfer {
    Loop* loop = nullptr;
    Group* group = nullptr;
    uint64_t tag = 0;
    FetchRequest request;
    CURL* easy = nullptr;
    int* host_count = nullptr;
    std::string body;
    absl::Time submitted;
    absl::Time started;
    bool deadline_bound = false;  // the group deadline, not the job timeout, set the curl timeout
    bool too_large = false;
    bool blocked = false;
    std::string blocked_reason;
    char error_buffer[CURL_ERROR_SIZE] = {};
  };
  struct Group {
    GroupId id = 0;
    FetchSink* sink = nullptr;
    GroupOptions options;
    std::deque<std::unique_ptr<Transfer>> queue;
    absl::flat_hash_set<Transfer*> inflight;
  };

  void ProcessInbox();
  bool Admit(absl::Time now);
  void Start(std::unique_ptr<Transfer> transfer, absl::Time now);
  void DrainCompletions();
  void ExpireQueued(absl::Time now);
  int NextPollMs(absl::Time now) const;
  void CancelGroupJobs(Group& group, FetchOutcome outcome, absl::string_view why);
  void Complete(Transfer* transfer, FetchResult& result);
  void FinishTransfer(Transfer* transfer, CURLcode code);
  CURL* TakeEasy();
  void ReleaseEasy(CURL* easy);

  static size_t OnWrite(char* data, size_t size, size_t count, void* user);
  static size_t OnHeader(char* data, size_t size, size_t count, void* user);
  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address);

  EngineOptions options_;
  CURLM* multi_;
  EngineStats* stats_;

  std::mutex inbox_mu_;
  std::vector<Command> inbox_;      // guarded by inbox_mu_
  std::vector<Command> processing_; // loop thread: swapped with inbox_

  absl::flat_hash_map<GroupId, std::unique_ptr<Group>> groups_;
  std::vector<Group*> ready_;       // groups with queued jobs, round-robin order
  size_t ready_cursor_ = 0;
  absl::node_hash_map<std::string, int> host_inflight_;
  std::vector<CURL*> free_easy_;
  int64_t inflight_ = 0;
  int64_t queued_ = 0;
  bool stopping_ = false;
};

CurlEngine::Loop::~Loop() {
  for (CURL* easy : free_easy_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
}

void CurlEngine::Loop::Run() {
  while (true) {
    ProcessInbox();
    if (stopping_) break;
    absl::Time now = absl::Now();
    ExpireQueued(now);
    Admit(now);
    int running = 0;
    curl_multi_perform(multi_, &running);
    DrainCompletions();
    if (Admit(absl::Now())) continue;  // new transfers: let perform start them at once
    curl_multi_poll(multi_, nullptr, 0, NextPollMs(absl::Now()), nullptr);
  }
  // Stopping: every job still known ends with kCancelled.
  for (auto& [id, group] : groups_) {
    CancelGroupJobs(*group, FetchOutcome::kCancelled, "the server is shutting down");
  }
}

void CurlEngine::Loop::ProcessInbox() {
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    processing_.swap(inbox_);
  }
  for (Command& command : processing_) {
    switch (command.kind) {
      case Command::Kind::kOpen: {
        auto group = std::make_unique<Group>();
        group->id = command.group;
        group->sink = command.sink;
        group->options = command.options;
        group->options.max_concurrency = std::max(1, group->options.max_concurrency);
        groups_[command.group] = std::move(group);
        break;
      }
      case Command::Kind::kSubmit: {
        auto it = groups_.find(command.group);
        if (it == groups_.end()) break;  // contract violation: submit after close; dropped
        Group& group = *it->second;
        auto transfer = std::make_unique<Transfer>();
        transfer->loop = this;
        transfer->group = &group;
        transfer->tag = command.tag;
        transfer->request = std::move(command.request);
        transfer->submitted = command.submitted;
        if (transfer->request.host.empty()) {
          transfer->request.host = extract::HostOf(transfer->request.url);
        }
        if (group.queue.empty()) ready_.push_back(&group);
        group.queue.push_back(std::move(transfer));
        ++queued_;
        break;
      }
      case Command::Kind::kCancel: {
        auto it = groups_.find(command.group);
        if (it == groups_.end()) break;
        CancelGroupJobs(*it->second, command.outcome,
                        command.outcome == FetchOutcome::kTimeout ? "the RPC deadline was reached"
                                                                  : "the call was cancelled");
        break;
      }
      case Command::Kind::kClose: {
        auto it = groups_.find(command.group);
        if (it == groups_.end()) break;
        // A well-behaved caller closes only drained groups; cancel anything left so no job is
        // orphaned.
        CancelGroupJobs(*it->second, FetchOutcome::kCancelled, "the group was closed");
        std::erase(ready_, it->second.get());
        groups_.erase(it);
        break;
      }
      case Command::Kind::kStop:
        stopping_ = true;
        break;
    }
  }
  processing_.clear();
  stats_->queued.store(queued_, std::memory_order_relaxed);
}

void CurlEngine::Loop::CancelGroupJobs(Group& group, FetchOutcome outcome, absl::string_view why) {
  // Queued jobs first (they never started), then in-flight transfers.
  while (!group.queue.empty()) {
    std::unique_ptr<Transfer> transfer = std::move(group.queue.front());
    group.queue.pop_front();
    --queued_;
    stats_->queued.store(queued_, std::memory_order_relaxed);  // before the sink sees the result
    FetchResult result;
    result.outcome = outcome;
    result.error = absl::StrCat(outcome == FetchOutcome::kTimeout ? "timed out" : "cancelled",
                                " while queued: ", why);
    result.queue_wait = absl::Now() - transfer->submitted;
    Complete(transfer.release(), result);
  }
  std::erase(ready_, &group);
  std::vector<Transfer*> inflight(group.inflight.begin(), group.inflight.end());
  for (Transfer* transfer : inflight) {
    curl_multi_remove_handle(multi_, transfer->easy);
    FetchResult result;
    result.outcome = outcome;
    result.error = std::string(why);
    absl::Time now = absl::Now();
    result.queue_wait = transfer->started - transfer->submitted;
    result.latency = now - transfer->started;
    result.attempts = 1;
    long code = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &code);
    result.http_status = static_cast<int>(code);
    Complete(transfer, result);
  }
  stats_->queued.store(queued_, std::memory_order_relaxed);
}

void CurlEngine::Loop::ExpireQueued(absl::Time now) {
  for (size_t i = 0; i < ready_.size();) {
    Group* group = ready_[i];
    if (group->options.deadline <= now && !group->queue.empty()) {
      // CancelGroupJobs erases the group from ready_; only queued jobs expire here, in-flight
      // transfers carry their own curl timeout.
      while (!group->queue.empty()) {
        std::unique_ptr<Transfer> transfer = std::move(group->queue.front());
        group->queue.pop_front();
        --queued_;
        stats_->queued.store(queued_, std::memory_order_relaxed);
        FetchResult result;
        result.outcome = FetchOutcome::kTimeout;
        result.error = "the RPC deadline was reached while the job was queued";
        result.queue_wait = now - transfer->submitted;
        Complete(transfer.release(), result);
      }
      ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;
  }
}

int CurlEngine::Loop::NextPollMs(absl::Time now) const {
  int64_t ms = kMaxPollMs;
  for (const Group* group : ready_) {
    if (group->options.deadline == absl::InfiniteFuture()) continue;
    int64_t until = absl::ToInt64Milliseconds(group->options.deadline - now) + 1;
    ms = std::min(ms, std::max<int64_t>(until, 0));
  }
  return static_cast<int>(ms);
}

bool CurlEngine::Loop::Admit(absl::Time now) {
  bool admitted_any = false;
  // Round-robin over groups with queued jobs: one job per group per pass, so one big RPC cannot
  // starve a small one. A group is skipped while it is at its own cap or its head job's host is
  // at the per-host cap.
  bool progress = true;
  while (progress && inflight_ < options_.max_inflight && !ready_.empty()) {
    progress = false;
    for (size_t n = ready_.size(); n > 0 && inflight_ < options_.max_inflight; --n) {
      if (ready_cursor_ >= ready_.size()) ready_cursor_ = 0;
      Group* group = ready_[ready_cursor_];
      if (static_cast<int>(group->inflight.size()) >= group->options.max_concurrency) {
        ++ready_cursor_;
        continue;
      }
      const std::string& host = group->queue.front()->request.host;
      auto [it, inserted] = host_inflight_.try_emplace(host, 0);
      if (it->second >= options_.max_per_host) {
        ++ready_cursor_;
        continue;
      }
      std::unique_ptr<Transfer> transfer = std::move(group->queue.front());
      group->queue.pop_front();
      --queued_;
      transfer->host_count = &it->second;
      if (group->queue.empty()) {
        ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(ready_cursor_));
      } else {
        ++ready_cursor_;
      }
      Start(std::move(transfer), now);
      admitted_any = progress = true;
    }
  }
  stats_->queued.store(queued_, std::memory_order_relaxed);
  return admitted_any;
}

void CurlEngine::Loop::Start(std::unique_ptr<Transfer> owned, absl::Time now) {
  Transfer* transfer = owned.release();  // owned by the multi handle until FinishTransfer
  Group* group = transfer->group;
  transfer->started = now;
  absl::Duration timeout = transfer->request.timeout;
  absl::Duration left = group->options.deadline - now;
  if (left <= absl::ZeroDuration()) {
    FetchResult result;
    result.outcome = FetchOutcome::kTimeout;
    result.error = "the RPC deadline was reached before the transfer started";
    result.queue_wait = now - transfer->submitted;
    transfer->host_count = nullptr;
    Complete(transfer, result);
    return;
  }
  if (left < timeout) {
    timeout = left;
    transfer->deadline_bound = true;
  }
  long timeout_ms = std::max<long>(1, static_cast<long>(absl::ToInt64Milliseconds(timeout)));

  CURL* easy = TakeEasy();
  transfer->easy = easy;
  transfer->body.reserve(kInitialBodyCapacity);
  curl_easy_setopt(easy, CURLOPT_URL, transfer->request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Loop::OnWrite);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Loop::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Loop::OnOpenSocket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error_buffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "gather/0.1");
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(transfer->request.max_body_bytes));
  if (transfer->request.head) curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  if (options_.follow_redirects > 0) {
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, static_cast<long>(options_.follow_redirects));
  }
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (transfer->request.url.size() > 8 &&
      (transfer->request.url[4] == 's' || transfer->request.url[4] == 'S')) {
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);  // prefer multiplexing on an HTTP/2 connection
  }
  if (transfer->request.headers && transfer->request.headers->native() != nullptr) {
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER,
                     static_cast<curl_slist*>(const_cast<void*>(transfer->request.headers->native())));
  }

  if (CURLMcode rc = curl_multi_add_handle(multi_, easy); rc != CURLM_OK) {
    FetchResult result;
    result.outcome = FetchOutcome::kError;
    result.error = absl::StrCat("cannot start transfer: ", curl_multi_strerror(rc));
    result.queue_wait = now - transfer->submitted;
    transfer->host_count = nullptr;
    ReleaseEasy(easy);
    transfer->easy = nullptr;
    Complete(transfer, result);
    return;
  }
  ++*transfer->host_count;
  group->inflight.insert(transfer);
  ++inflight_;
  stats_->inflight.store(inflight_, std::memory_order_relaxed);
  stats_->started.fetch_add(1, std::memory_order_relaxed);
  if (inflight_ > stats_->max_inflight_seen.load(std::memory_order_relaxed)) {
    stats_->max_inflight_seen.store(inflight_, std::memory_order_relaxed);
  }
}

void CurlEngine::Loop::DrainCompletions() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* easy = message->easy_handle;
    CURLcode code = message->data.result;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&transfer));
    curl_multi_remove_handle(multi_, easy);
    FinishTransfer(transfer, code);
  }
}

void CurlEngine::Loop::FinishTransfer(Transfer* transfer, CURLcode code) {
  FetchResult result;
  absl::Time now = absl::Now();
  result.queue_wait = transfer->started - transfer->submitted;
  result.latency = now - transfer->started;
  result.attempts = 1;
  long http = 0;
  curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &http);
  result.http_status = static_cast<int>(http);
  auto curl_error = [&] {
    return transfer->error_buffer[0] != '\0' ? std::string(transfer->error_buffer)
                                             : std::string(curl_easy_strerror(code));
  };
  if (code == CURLE_OK) {
    result.outcome = FetchOutcome::kResponse;
    result.body = std::move(transfer->body);
  } else if (transfer->blocked) {
    result.outcome = FetchOutcome::kBlocked;
    result.error = transfer->blocked_reason;
  } else if (transfer->too_large || code == CURLE_FILESIZE_EXCEEDED) {
    result.outcome = FetchOutcome::kTooLarge;
    result.error = transfer->too_large && code != CURLE_FILESIZE_EXCEEDED
                       ? absl::StrCat("response over ", transfer->request.max_body_bytes,
                                      " bytes (body or headers)")
                       : absl::StrCat("body over ", transfer->request.max_body_bytes, " bytes");
  } else {
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        result.outcome = FetchOutcome::kTimeout;
        result.error = transfer->deadline_bound
                           ? "the RPC deadline was reached during the transfer"
                           : absl::StrCat("timed out after ",
                                          absl::FormatDuration(transfer->request.timeout));
        break;
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        result.outcome = FetchOutcome::kDnsError;
        result.error = curl_error();
        break;
      case CURLE_COULDNT_CONNECT:
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
      case CURLE_WEIRD_SERVER_REPLY:
        result.outcome = FetchOutcome::kConnectError;
        result.error = curl_error();
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
        result.outcome = FetchOutcome::kTlsError;
        result.error = curl_error();
        break;
      case CURLE_TOO_MANY_REDIRECTS:
      case CURLE_UNSUPPORTED_PROTOCOL:
        result.outcome = FetchOutcome::kRedirectError;
        result.error = curl_error();
        break;
      case CURLE_BAD_CONTENT_ENCODING:
        result.outcome = FetchOutcome::kBadContent;
        result.error = curl_error();
        break;
      default:
        result.outcome = FetchOutcome::kError;
        result.error = curl_error();
        break;
    }
  }
  Complete(transfer, result);
}

void CurlEngine::Loop::Complete(Transfer* transfer, FetchResult& result) {
  std::unique_ptr<Transfer> owned(transfer);
  Group* group = transfer->group;
  if (transfer->easy != nullptr) {
    if (group->inflight.erase(transfer) > 0) {
      --inflight_;
      stats_->inflight.store(inflight_, std::memory_order_relaxed);
    }
    if (transfer->host_count != nullptr && --*transfer->host_count == 0) {
      host_inflight_.erase(transfer->request.host);
    }
    ReleaseEasy(transfer->easy);
    transfer->easy = nullptr;
  }
  stats_->completed.fetch_add(1, std::memory_order_relaxed);
  group->sink->OnFetchDone(transfer->tag, result);
}

CURL* CurlEngine::Loop::TakeEasy() {
  if (!free_easy_.empty()) {
    CURL* easy = free_easy_.back();
    free_easy_.pop_back();
    return easy;
  }
  return curl_easy_init();
}

void CurlEngine::Loop::ReleaseEasy(CURL* easy) {
  curl_easy_reset(easy);
  if (static_cast<int>(free_easy_.size()) < options_.max_inflight) {
    free_easy_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

size_t CurlEngine::Loop::OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  std::string& body = transfer->body;
  if (body.size() + length > transfer->request.max_body_bytes) {
    transfer->too_large = true;
    return 0;  // CURLE_WRITE_ERROR; reported as kTooLarge
  }
  if (body.capacity() < body.size() + length + kBodyPadding) {
    body.reserve(std::max(body.capacity() * 2, body.size() + length + kBodyPadding));
  }
  body.append(data, length);
  return length;
}

size_t CurlEngine::Loop::OnHeader(char* /*data*/, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  long total = 0;
  curl_easy_getinfo(transfer->easy, CURLINFO_HEADER_SIZE, &total);
  if (total + static_cast<long>(length) > kMaxHeaderBytes) {
    transfer->too_large = true;
    return 0;
  }
  return length;
}

curl_socket_t CurlEngine::Loop::OnOpenSocket(void* user, curlsocktype /*purpose*/,
                                             curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  policy::EgressDecision decision = transfer->loop->options_.egress.Check(&address->addr);
  if (!decision.allowed) {
    transfer->blocked = true;
    transfer->blocked_reason = std::move(decision.reason);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

// ---------------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<CurlEngine>> CurlEngine::Create(EngineOptions options) {
  std::call_once(global_init_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.max_inflight));
  auto loop = std::make_unique<Loop>(std::move(options), multi, nullptr);
  return std::unique_ptr<CurlEngine>(new CurlEngine(std::move(loop)));
}

CurlEngine::CurlEngine(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {
  loop_->set_stats(&stats_);
  thread_ = std::thread([this] { loop_->Run(); });
}

CurlEngine::~CurlEngine() { Stop(); }

void CurlEngine::Stop() {
  std::call_once(stop_once_, [this] {
    Loop::Command command(Loop::Command::Kind::kStop);
    loop_->Post(std::move(command));
    if (thread_.joinable()) thread_.join();
  });
}

GroupId CurlEngine::OpenGroup(FetchSink* sink, const GroupOptions& options) {
  GroupId id = next_group_.fetch_add(1, std::memory_order_relaxed);
  Loop::Command command(Loop::Command::Kind::kOpen);
  command.group = id;
  command.sink = sink;
  command.options = options;
  loop_->Post(std::move(command));
  return id;
}

void CurlEngine::Submit(GroupId group, uint64_t tag, FetchRequest request) {
  Loop::Command command(Loop::Command::Kind::kSubmit);
  command.group = group;
  command.tag = tag;
  command.request = std::move(request);
  command.submitted = absl::Now();
  loop_->Post(std::move(command));
}

void CurlEngine::SubmitBatch(GroupId group, std::vector<std::pair<uint64_t, FetchRequest>> batch) {
  std::vector<Loop::Command> commands;
  commands.reserve(batch.size());
  absl::Time now = absl::Now();
  for (auto& [tag, request] : batch) {
    Loop::Command command(Loop::Command::Kind::kSubmit);
    command.group = group;
    command.tag = tag;
    command.request = std::move(request);
    command.submitted = now;
    commands.push_back(std::move(command));
  }
  loop_->PostMany(std::move(commands));
}

void CurlEngine::CancelGroup(GroupId group, FetchOutcome outcome) {
  Loop::Command command(Loop::Command::Kind::kCancel);
  command.group = group;
  command.outcome = outcome;
  loop_->Post(std::move(command));
}

void CurlEngine::CloseGroup(GroupId group) {
  Loop::Command command(Loop::Command::Kind::kClose);
  command.group = group;
  loop_->Post(std::move(command));
}

}  // namespace gather::fetch
