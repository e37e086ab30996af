// CurlLoop: one engine loop thread, which owns one CURLM handle, its easy handles and every job
// routed to it (curl's multi examples: state on CURLOPT_PRIVATE, curl_multi_info_read drained
// after every perform).
//
// Other threads only Post commands to its inbox (a mutex and curl_multi_wakeup). The loop thread
// turns them into work for its components and carries out their decisions:
//  - Scheduler: groups, queues, caps, rate buckets, retry timing (which job starts next);
//  - Coalescer: identical requests share one fetch;
//  - Hedger: when a slow transfer gets a twin;
//  - itself: curl transfers, redirects hop by hop, CURLcode -> outcome, and delivering every
//    job's completion to its group's FetchSink exactly once, always on this thread.
// No exception crosses the loop or a curl callback.
//
// Stopping has two steps (CurlEngine::Stop): kStop cancels every job the loop holds and makes it
// cancel any job submitted later as it arrives (on this thread, so sinks keep their thread
// contract); kExit ends Run once the engine saw every loop go quiet.
#ifndef GATHER_SERVICE_FETCH_CURL_LOOP_H_
#define GATHER_SERVICE_FETCH_CURL_LOOP_H_

#include <curl/curl.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "service/fetch/coalescer.h"
#include "service/fetch/curl_handles.h"
#include "service/fetch/engine_stats.h"
#include "service/fetch/fetch_types.h"
#include "service/fetch/hedger.h"
#include "service/fetch/job.h"
#include "service/fetch/scheduler.h"
#include "service/policy/egress_policy.h"

namespace gather::fetch {

// Counts commands posted to the loops and not yet carried out, so CurlEngine::Stop can tell when
// every loop went quiet. Any thread.
class CommandCount {
 public:
  void Add(int64_t n);
  void Done(int64_t n);
  // Blocks until the count is zero.
  void WaitZero();

 private:
  std::mutex mu_;
  std::condition_variable zero_;
  int64_t count_ = 0;  // guarded by mu_
};

struct LoopOptions {
  SchedulerOptions scheduler;
  CoalescerOptions coalescer;
  int follow_redirects = 0;    // hops followed (0: a 3xx is the answer)
  std::string ca_file;         // extra CA bundle; empty: the system's
  policy::EgressPolicy egress;
  std::vector<std::string> resolve;  // "HOST:PORT:ADDRESS" pins (curl --resolve)
};

class CurlLoop {
 public:
  struct Command {
    enum class Kind { kOpen, kSubmit, kCancel, kClose, kStop, kExit, kLease };
    explicit Command(Kind k) : kind(k) {}
    Kind kind;
    GroupId group = 0;
    uint64_t tag = 0;
    FetchRequest request;
    FetchSink* sink = nullptr;
    GroupOptions options;
    FetchOutcome outcome = FetchOutcome::kCancelled;
    absl::Time submitted;
    ratestore::LeaseReply lease;  // kLease: for request.host
  };

  // `stats` and `pending` are shared by the engine's loops and outlive this one.
  CurlLoop(LoopOptions options, MultiHandle multi, EngineStats* stats, CommandCount* pending);
  ~CurlLoop();
  CurlLoop(const CurlLoop&) = delete;
  CurlLoop& operator=(const CurlLoop&) = delete;

  // Any thread.
  void Post(std::vector<Command> commands);
  double PublishedRate(const std::string& host) const { return scheduler_.PublishedRate(host); }
  int64_t PublishedQuotaLeft(const std::string& host) const {
    return scheduler_.PublishedQuotaLeft(host);
  }
  std::vector<std::pair<std::string, int64_t>> PublishedQuotasLeft() const {
    return scheduler_.PublishedQuotasLeft();
  }
  std::vector<std::pair<std::string, double>> PublishedRates() const {
    return scheduler_.PublishedRates();
  }

  // The loop thread's body; returns after a kExit command.
  void Run();

 private:
  struct Running;
  // One transfer of a running job (two when hedged): an easy handle on the multi handle.
  struct Transfer {
    CurlLoop* loop = nullptr;
    Running* running = nullptr;
    EasyHandle easy;
    std::string url;  // this hop's URL
    std::shared_ptr<const HeaderSet> headers;
    int hops = 0;  // redirects followed
    absl::Time started;
    absl::Time ends;  // its curl timeout
    std::string body;
    bool blocked = false;
    std::string blocked_reason;
    bool too_large = false;
    bool deadline_bound = false;
    std::string redirect_error;
    std::string retry_after;  // the last response's Retry-After
    std::string link;         // the last response's Link header lines, joined with ", "
    int header_lines = 0;
    bool as_get = false;  // a redirect turned the request into a GET (FollowRedirect)
    char error_buffer[CURL_ERROR_SIZE] = {};
  };
  // A job in flight and its transfers; owned by running_.
  struct Running {
    std::unique_ptr<Job> job;
    std::vector<std::unique_ptr<Transfer>> transfers;  // 1, or 2 while hedged
    absl::Time started;  // this attempt's first transfer
  };

  void ProcessInbox();
  void Submit(Command& command, absl::Time now);
  void CancelGroupJobs(GroupState& group, FetchOutcome outcome, absl::string_view why);
  void CloseGroup(GroupId id);
  void StopAll();
  // Starts what the Scheduler admits now. Returns whether anything started.
  bool StartAdmitted(absl::Time now);
  void StartJob(std::unique_ptr<Job> job, absl::Time now);
  void StartHedge(Job* job, absl::Time now);
  // Sets up the transfer's handle for its URL and adds it to the multi handle.
  bool Launch(Transfer& transfer, absl::Time now);
  void DrainCompletions();
  void OnTransferDone(Transfer* transfer, CURLcode code);
  // A 3xx to follow: relaunches `transfer` at the next hop. False when the 3xx is the answer
  // or the hop is refused (redirect_error says why).
  bool FollowRedirect(Transfer& transfer, absl::Time now);
  // Stops a transfer (if on the multi handle) and frees its slot and handle.
  void EndTransfer(Running& running, Transfer* transfer);
  void ExpireWaiting(absl::Time now);
  // The result of a job that ended while waiting (queued, delayed or following).
  FetchResult EndedWaiting(Job& job, FetchOutcome outcome, absl::string_view why,
                           absl::Time now);
  // Hands a final result to the job's followers and its sink.
  void Complete(std::unique_ptr<Job> job, FetchResult& result);
  void Deliver(std::unique_ptr<Job> job, FetchResult& result);
  int NextPollMs(absl::Time now) const;
  EasyHandle TakeEasy();
  void ReleaseEasy(EasyHandle easy);
  void PublishGauges();

  static size_t OnWrite(char* data, size_t size, size_t count, void* user);
  static size_t OnHeader(char* data, size_t size, size_t count, void* user);
  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address);

  const LoopOptions options_;
  MultiHandle multi_;
  EngineStats* const stats_;
  CommandCount* const pending_;
  Slist resolve_;

  std::mutex inbox_mu_;
  std::vector<Command> inbox_;  // guarded by inbox_mu_
  std::vector<Command> processing_;

  // Where the rate store's lease replies go: this loop until its destructor clears it (a reply
  // may come from the store's thread after the loop is gone).
  struct LeaseTarget {
    std::mutex mu;
    CurlLoop* loop = nullptr;  // guarded by mu
  };
  static SchedulerOptions WithLeaseReplies(SchedulerOptions options,
                                           const std::shared_ptr<LeaseTarget>& target);
  std::shared_ptr<LeaseTarget> lease_target_ = std::make_shared<LeaseTarget>();
  Scheduler scheduler_;
  Coalescer coalescer_;
  Hedger hedger_;
  absl::flat_hash_map<const Job*, std::unique_ptr<Running>> running_;
  std::vector<EasyHandle> free_easy_;
  bool stopping_ = false;  // kStop ran: every job is cancelled as it arrives
  bool exit_ = false;
  // What this loop has added to the shared gauges.
  int64_t published_inflight_ = 0;
  int64_t published_queued_ = 0;
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_CURL_LOOP_H_
