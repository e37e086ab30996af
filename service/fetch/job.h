// Job: one submitted request as an engine loop carries it, from Submit to its one completion.
//
// Ownership: a Job always has exactly one owner, a std::unique_ptr held by one of
//  - the Scheduler (queued in its group, or waiting for a retry's time),
//  - the Coalescer (a follower waiting for an identical request's answer),
//  - the CurlLoop (in flight, with one transfer or two when hedged).
// Ownership moves by handing the unique_ptr along; nothing else deletes a Job. Other components
// may keep a Job* only while the job is in flight (the Coalescer's leader, the Hedger's timers),
// and are told when it ends. Loop-thread only.
#ifndef GATHER_SERVICE_FETCH_JOB_H_
#define GATHER_SERVICE_FETCH_JOB_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "service/fetch/fetch_types.h"

namespace gather::fetch {

struct GroupState;  // defined in scheduler.h
struct HostState;   // defined in scheduler.h

struct Job {
  GroupState* group = nullptr;  // set by Scheduler::Attach; the group outlives its jobs
  HostState* host = nullptr;    // set by Scheduler::Attach; lives while the group uses it
  uint64_t tag = 0;
  FetchRequest request;
  absl::Time waiting_since;                      // submit, or when its retry was scheduled
  absl::Duration waited = absl::ZeroDuration();  // queue time of earlier attempts
  uint32_t attempts = 0;                         // transfers made (a hedge counts)
  // Time its retries waited for the host's retry budget (part of `waited`).
  absl::Duration budget_wait = absl::ZeroDuration();
  // While it waits for a retry: what the failed attempt got (the answer if no retry comes).
  std::optional<FetchResult> previous;
  // Set while it fetches for identical requests (the Coalescer's key); empty otherwise.
  std::string coalesce_key;
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_JOB_H_
