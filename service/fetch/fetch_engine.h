// The fetch engine interface: thread-safe submission of HTTP jobs in groups (one group per RPC),
// each job completing exactly once on one of the engine's own threads via the group's FetchSink
// (a sink may be called from several engine threads at once).
#ifndef GATHER_SERVICE_FETCH_FETCH_ENGINE_H_
#define GATHER_SERVICE_FETCH_FETCH_ENGINE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "service/fetch/fetch_types.h"

namespace gather::fetch {

// All methods are thread-safe and never block on network work. Calls from one thread take effect
// in the order they were made (an engine with several loops may start and complete the jobs of
// one group in another order). No method calls a sink on the caller's thread, so a caller may
// hold the lock its sink takes while it submits or cancels (the reactors do: a cancel then
// cannot overtake a submit).
class FetchEngine {
 public:
  virtual ~FetchEngine() = default;

  // Opens a group whose completions go to `sink`. The sink must outlive every job submitted to
  // the group.
  virtual GroupId OpenGroup(FetchSink* sink, const GroupOptions& options) = 0;

  // Queues one job (or a batch) in `group`. `tag` comes back with the completion.
  virtual void Submit(GroupId group, uint64_t tag, FetchRequest request) = 0;
  virtual void SubmitBatch(GroupId group,
                           std::vector<std::pair<uint64_t, FetchRequest>> batch) = 0;

  // Ends every queued and in-flight job of the group promptly with `outcome` (kCancelled or
  // kTimeout); their completions are delivered as usual. Later submits to the group still run.
  virtual void CancelGroup(GroupId group, FetchOutcome outcome) = 0;

  // Forgets the group. Call only after its last completion has been delivered.
  virtual void CloseGroup(GroupId group) = 0;

  // The request rate currently enforced for `host` (requests per second), 0 when none.
  virtual double HostRate(const std::string& /*host*/) const { return 0; }
  // Requests left in `host`'s quota period (--host_quota) as last seen; -1 without a quota.
  virtual int64_t QuotaLeft(const std::string& /*host*/) const { return -1; }
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_FETCH_ENGINE_H_
