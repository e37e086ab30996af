#include "service/fetch/coalescer.h"

#include <memory>

#include "gtest/gtest.h"
#include "service/fetch/scheduler.h"

namespace gather::fetch {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

class CoalescerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Job> NewJob(GroupState& group, uint64_t tag, int max_attempts = 1) {
    auto job = std::make_unique<Job>();
    job->group = &group;
    job->tag = tag;
    job->request.url = "http://api/item/1";
    job->request.max_attempts = max_attempts;
    job->request.coalesce = true;
    job->waiting_since = now_;
    return job;
  }
  static FetchResult Answer(int http_status) {
    FetchResult result;
    result.outcome = FetchOutcome::kResponse;
    result.http_status = http_status;
    result.body = "{}";
    return result;
  }

  Coalescer coalescer_{CoalescerOptions{}};
  GroupState a_, b_;
  absl::Time now_ = kStart;
};

TEST_F(CoalescerTest, FollowersGetTheLeadersAnswer) {
  auto joined = coalescer_.Join(NewJob(a_, 0), now_);
  ASSERT_TRUE(joined.lead);
  EXPECT_FALSE(coalescer_.Join(NewJob(b_, 1), now_).lead);  // follows
  EXPECT_FALSE(coalescer_.Join(NewJob(b_, 2), now_).lead);
  EXPECT_EQ(coalescer_.followers(), 2u);
  auto handoff = coalescer_.Finish(*joined.lead, Answer(200), false, now_);
  EXPECT_EQ(handoff.followers.size(), 2u);
  EXPECT_FALSE(handoff.next_leader);
  EXPECT_EQ(coalescer_.followers(), 0u);
}

TEST_F(CoalescerTest, AnotherPolicyIsAnotherRequest) {
  // A call allowed 4 attempts must not share the fetch of a call allowed 1.
  auto one = coalescer_.Join(NewJob(a_, 0, 1), now_);
  auto four = coalescer_.Join(NewJob(b_, 1, 4), now_);
  EXPECT_TRUE(one.lead);
  EXPECT_TRUE(four.lead);
  FetchRequest slow;
  slow.url = "http://api/item/1";
  FetchRequest quick = slow;
  quick.timeout = absl::Seconds(1);
  EXPECT_NE(Coalescer::KeyOf(slow), Coalescer::KeyOf(quick));
}

TEST_F(CoalescerTest, OnlySuccessfulAnswersAreKeptForTheWindow) {
  auto first = coalescer_.Join(NewJob(a_, 0), now_);
  coalescer_.Finish(*first.lead, Answer(503), false, now_);
  // A failure is not handed to a later call: it fetches under its own policy.
  auto again = coalescer_.Join(NewJob(b_, 1), now_);
  ASSERT_TRUE(again.lead);
  coalescer_.Finish(*again.lead, Answer(200), false, now_);
  auto cached = coalescer_.Join(NewJob(b_, 2), now_ + absl::Milliseconds(500));
  ASSERT_TRUE(cached.answered);
  EXPECT_EQ(cached.answer.http_status, 200);
  // After the window (1 s) it is fetched again.
  EXPECT_TRUE(coalescer_.Join(NewJob(b_, 3), now_ + absl::Seconds(2)).lead);
}

TEST_F(CoalescerTest, ALeaderCutByItsOwnCallHandsTheFetchToAFollower) {
  auto leader = coalescer_.Join(NewJob(a_, 0), now_);
  coalescer_.Join(NewJob(b_, 1), now_);
  coalescer_.Join(NewJob(b_, 2), now_);
  FetchResult cancelled;
  cancelled.outcome = FetchOutcome::kCancelled;
  auto handoff = coalescer_.Finish(*leader.lead, cancelled, true, now_);
  ASSERT_TRUE(handoff.next_leader);
  EXPECT_EQ(handoff.next_leader->tag, 1u);
  EXPECT_TRUE(handoff.followers.empty());
  EXPECT_EQ(coalescer_.followers(), 1u);  // job 2 now follows job 1
  auto second = coalescer_.Finish(*handoff.next_leader, Answer(200), false, now_);
  ASSERT_EQ(second.followers.size(), 1u);
  EXPECT_EQ(second.followers[0]->tag, 2u);
}

TEST_F(CoalescerTest, FollowersLeaveWithTheirGroup) {
  a_.options.deadline = now_ + absl::Seconds(1);
  auto leader = coalescer_.Join(NewJob(b_, 0), now_);
  coalescer_.Join(NewJob(a_, 1), now_);
  coalescer_.Join(NewJob(b_, 2), now_);
  EXPECT_EQ(coalescer_.NextWakeup(), now_ + absl::Seconds(1));
  EXPECT_TRUE(coalescer_.TakeExpired(now_).empty());
  auto expired = coalescer_.TakeExpired(now_ + absl::Seconds(1));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0]->tag, 1u);
  EXPECT_EQ(coalescer_.NextWakeup(), absl::InfiniteFuture());
  EXPECT_EQ(coalescer_.TakeFollowers(&b_).size(), 1u);
  EXPECT_EQ(coalescer_.followers(), 0u);
}

}  // namespace
}  // namespace gather::fetch
