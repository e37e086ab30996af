// Coalescer: identical requests share one fetch. No curl here.
//
// Requests are identical when everything that decides their answer matches: method, URL, headers,
// body cap, redirect rule, timeout and attempts allowed (so one call's policy never decides
// another call's answer). While one of them (the leader) is queued or in flight, the others
// (followers) wait here for its answer. A 2xx answer is also kept for a short window and handed
// to identical requests made then; a failure is never kept (each later call makes its own
// attempts under its own policy).
//
// It owns the followers (each a std::unique_ptr<Job>) and the answer cache; a leader stays owned
// by the Scheduler or the loop, and is known here only by its key while it runs. It returns
// decisions; the loop completes jobs. Time comes in as arguments. Loop-thread only.
#ifndef GATHER_SERVICE_FETCH_COALESCER_H_
#define GATHER_SERVICE_FETCH_COALESCER_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "service/fetch/fetch_types.h"
#include "service/fetch/job.h"

namespace gather::fetch {

struct CoalescerOptions {
  // An answer is also handed to identical requests made within this time after it arrived (0:
  // only to requests made while it was being fetched).
  absl::Duration window = absl::Seconds(1);
  size_t max_entries = 1000;    // answers kept at most (the oldest go first)
  size_t max_bytes = 8 << 20;   // body bytes kept at most
};

class Coalescer {
 public:
  explicit Coalescer(CoalescerOptions options) : options_(options) {}
  Coalescer(const Coalescer&) = delete;
  Coalescer& operator=(const Coalescer&) = delete;

  // What identical requests share. Holds header values: never log it.
  static std::string KeyOf(const FetchRequest& request);

  // A job that may coalesce arrives. Exactly one of:
  //  - `answered` is set, with `answer`: a recent identical fetch answered it (complete it now);
  //  - `lead` is set: it must fetch, for itself and later identical requests (queue it);
  //  - neither: it follows an identical request in progress and is owned here until that ends.
  struct Joined {
    std::unique_ptr<Job> answered;
    FetchResult answer;
    std::unique_ptr<Job> lead;
  };
  Joined Join(std::unique_ptr<Job> job, absl::Time now);

  // The leader's job ended with `result`. `cut_by_its_call`: its own group cancelled it or its
  // deadline ended it, so the answer is not the followers' answer: the first follower becomes
  // the leader (next_leader, to be queued) for the others. Otherwise every follower gets the
  // answer (followers: complete each with a copy marked shared).
  struct Handoff {
    std::vector<std::unique_ptr<Job>> followers;
    std::unique_ptr<Job> next_leader;
  };
  Handoff Finish(Job& leader, const FetchResult& result, bool cut_by_its_call, absl::Time now);

  // Followers of `group` (cancel), or whose group's deadline has passed.
  std::vector<std::unique_ptr<Job>> TakeFollowers(const GroupState* group);
  std::vector<std::unique_ptr<Job>> TakeExpired(absl::Time now);
  std::vector<std::unique_ptr<Job>> TakeAll();

  // The earliest deadline of a group with a follower waiting here.
  absl::Time NextWakeup() const;
  size_t followers() const { return followers_; }

 private:
  struct Leading {
    const Job* leader = nullptr;
    std::vector<std::unique_ptr<Job>> followers;
  };
  struct Recent {
    FetchResult result;
    absl::Time expires;
  };
  void Remember(const std::string& key, const FetchResult& result, absl::Time now);
  void EraseRecent(const std::string& key);
  void ExpireRecent(absl::Time now);
  template <typename Pred>
  std::vector<std::unique_ptr<Job>> TakeIf(Pred pred);
  void Count(const Job& follower, int delta);

  const CoalescerOptions options_;
  absl::flat_hash_map<std::string, Leading> leading_;  // by key, while the leader runs
  size_t followers_ = 0;
  absl::flat_hash_map<const GroupState*, size_t> follower_groups_;  // followers per group
  absl::flat_hash_map<std::string, Recent> recent_;
  std::deque<std::pair<absl::Time, std::string>> recent_order_;  // by expiry
  size_t recent_bytes_ = 0;
};

}  // namespace gather::fetch

#endif  // GATHER_SERVICE_FETCH_COALESCER_H_
