#include "service/fetch/scheduler.h"

#include <memory>

#include "gtest/gtest.h"

namespace gather::fetch {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

class NullSink : public FetchSink {
 public:
  void OnFetchDone(uint64_t, FetchResult&) override {}
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : scheduler_(Options(), &stats_) {}
  static SchedulerOptions Options() {
    SchedulerOptions options;
    options.max_inflight = 100;
    options.max_per_host = 100;
    options.retry_budget_ratio = 0.2;
    options.retry_budget_min_per_second = 10;
    options.max_retry_after = absl::Seconds(60);
    return options;
  }
  std::unique_ptr<Job> NewJob(GroupState& group, uint64_t tag, const std::string& host = "api",
                              int max_attempts = 1) {
    auto job = std::make_unique<Job>();
    job->tag = tag;
    job->request.url = "http://" + host + "/x";
    job->request.host = host;
    job->request.max_attempts = max_attempts;
    job->waiting_since = now_;
    scheduler_.Attach(*job, group, now_);
    return job;
  }
  GroupState& Open(GroupId id, GroupOptions options) {
    return scheduler_.OpenGroup(id, &sink_, options);
  }

  EngineStats stats_;
  NullSink sink_;
  Scheduler scheduler_;
  absl::Time now_ = kStart;
};

TEST_F(SchedulerTest, GroupsTakeTurnsUnderTheirOwnCaps) {
  GroupOptions options;
  options.max_concurrency = 2;
  GroupState& a = Open(1, options);
  GroupState& b = Open(2, options);
  for (uint64_t i = 0; i < 5; ++i) scheduler_.Enqueue(NewJob(a, i));
  for (uint64_t i = 0; i < 5; ++i) scheduler_.Enqueue(NewJob(b, 10 + i));
  std::vector<std::unique_ptr<Job>> started;
  for (auto admission = scheduler_.Next(now_); admission.job; admission = scheduler_.Next(now_)) {
    started.push_back(std::move(admission.job));
  }
  ASSERT_EQ(started.size(), 4u);  // two per group, then both groups are at their cap
  EXPECT_NE(started[0]->group, started[1]->group);
  EXPECT_EQ(scheduler_.inflight(), 4);
  EXPECT_EQ(scheduler_.queued(), 6);
  scheduler_.EndTransfer(*started[0]);
  auto next = scheduler_.Next(now_);
  ASSERT_TRUE(next.job);
  EXPECT_EQ(next.job->group, started[0]->group);  // only that group has room
}

TEST_F(SchedulerTest, AGroupRateSpacesStarts) {
  GroupOptions options;
  options.rate = 10;
  options.burst = 1;
  GroupState& group = Open(1, options);
  for (uint64_t i = 0; i < 3; ++i) scheduler_.Enqueue(NewJob(group, i));
  ASSERT_TRUE(scheduler_.Next(now_).job);
  EXPECT_FALSE(scheduler_.Next(now_).job);  // no token until 100 ms later
  EXPECT_EQ(scheduler_.NextWakeup(), now_ + absl::Milliseconds(100));
  EXPECT_FALSE(scheduler_.Next(now_ + absl::Milliseconds(50)).job);
  EXPECT_TRUE(scheduler_.Next(now_ + absl::Milliseconds(100)).job);
}

TEST_F(SchedulerTest, AHedgeTakesASlotAndARateToken) {
  GroupOptions options;
  options.rate = 10;
  options.burst = 1;
  options.max_concurrency = 2;
  GroupState& group = Open(1, options);
  scheduler_.Enqueue(NewJob(group, 0));
  std::unique_ptr<Job> running = scheduler_.Next(now_).job;
  ASSERT_TRUE(running);
  scheduler_.WantHedge(*running);
  // The bucket is empty: the hedge waits for the next token like any transfer.
  EXPECT_EQ(scheduler_.Next(now_).hedge_of, nullptr);
  auto later = scheduler_.Next(now_ + absl::Milliseconds(100));
  EXPECT_EQ(later.hedge_of, running.get());
  EXPECT_EQ(group.inflight, 2);  // the hedge counts in the group's transfers
  // At the group's cap, a wanted hedge waits for a slot.
  scheduler_.EndTransfer(*running);
  scheduler_.Enqueue(NewJob(group, 1));
  scheduler_.Next(now_ + absl::Seconds(1));  // the queued job takes the free slot
  scheduler_.WantHedge(*running);
  EXPECT_EQ(scheduler_.Next(now_ + absl::Seconds(2)).hedge_of, nullptr);
  scheduler_.EndTransfer(*running);
  EXPECT_EQ(scheduler_.Next(now_ + absl::Seconds(2)).hedge_of, running.get());
}

TEST_F(SchedulerTest, AForgottenHedgeIsNotStarted) {
  GroupOptions options;
  options.max_concurrency = 1;
  GroupState& group = Open(1, options);
  scheduler_.Enqueue(NewJob(group, 0));
  std::unique_ptr<Job> running = scheduler_.Next(now_).job;
  scheduler_.WantHedge(*running);
  scheduler_.ForgetHedge(*running);
  scheduler_.EndTransfer(*running);
  auto next = scheduler_.Next(now_);
  EXPECT_FALSE(next.job);
  EXPECT_EQ(next.hedge_of, nullptr);
}

TEST_F(SchedulerTest, APostIsRetriedOnlyWhereItWasCertainlyNotProcessed) {
  GroupOptions options;
  options.deadline = now_ + absl::Seconds(30);
  GroupState& group = Open(1, options);
  std::unique_ptr<Job> job = NewJob(group, 0, "api", 3);
  job->attempts = 1;
  job->request.method = Method::kPost;
  FetchResult unavailable;
  unavailable.outcome = FetchOutcome::kResponse;
  unavailable.http_status = 503;
  auto plain = scheduler_.DecideRetry(*job, unavailable, "", now_);
  EXPECT_FALSE(plain.retry);
  EXPECT_NE(plain.note.find("POST may have been processed"), std::string::npos) << plain.note;
  EXPECT_TRUE(scheduler_.DecideRetry(*job, unavailable, "1", now_).retry);  // 503 + Retry-After
  FetchResult too_many = unavailable;
  too_many.http_status = 429;
  EXPECT_TRUE(scheduler_.DecideRetry(*job, too_many, "", now_).retry);
  FetchResult bad_gateway = unavailable;
  bad_gateway.http_status = 502;
  EXPECT_FALSE(scheduler_.DecideRetry(*job, bad_gateway, "", now_).retry);
  FetchResult refused;
  refused.outcome = FetchOutcome::kConnectError;
  refused.not_sent = true;
  EXPECT_TRUE(scheduler_.DecideRetry(*job, refused, "", now_).retry);
  FetchResult reset = refused;
  reset.not_sent = false;  // the connection broke after the request went out
  EXPECT_FALSE(scheduler_.DecideRetry(*job, reset, "", now_).retry);
  // Said to be idempotent, or a PUT or DELETE: retried like a GET.
  job->request.idempotent = true;
  EXPECT_TRUE(scheduler_.DecideRetry(*job, unavailable, "", now_).retry);
  job->request.idempotent = false;
  job->request.method = Method::kPut;
  EXPECT_TRUE(scheduler_.DecideRetry(*job, bad_gateway, "", now_).retry);
  job->request.method = Method::kDelete;
  EXPECT_TRUE(scheduler_.DecideRetry(*job, reset, "", now_).retry);
}

TEST_F(SchedulerTest, RetriesWaitForBackoffAndRetryAfterWithinTheDeadline) {
  GroupOptions options;
  options.deadline = now_ + absl::Seconds(30);
  GroupState& group = Open(1, options);
  std::unique_ptr<Job> job = NewJob(group, 0, "api", 3);
  job->attempts = 1;
  FetchResult unavailable;
  unavailable.outcome = FetchOutcome::kResponse;
  unavailable.http_status = 503;
  auto decision = scheduler_.DecideRetry(*job, unavailable, "5", now_);
  EXPECT_TRUE(decision.retry);
  EXPECT_GE(decision.wait, absl::Seconds(5));
  auto past_deadline = scheduler_.DecideRetry(*job, unavailable, "40", now_);
  EXPECT_FALSE(past_deadline.retry);
  EXPECT_NE(past_deadline.note.find("deadline"), std::string::npos);
  FetchResult not_found = unavailable;
  not_found.http_status = 404;
  EXPECT_FALSE(scheduler_.DecideRetry(*job, not_found, "", now_).retry);
  job->attempts = 3;
  EXPECT_FALSE(scheduler_.DecideRetry(*job, unavailable, "", now_).retry);

  job->attempts = 1;
  scheduler_.Delay(std::move(job), now_ + absl::Seconds(5));
  EXPECT_EQ(scheduler_.NextWakeup(), now_ + absl::Seconds(5));
  scheduler_.PromoteDueRetries(now_ + absl::Seconds(4));
  EXPECT_FALSE(scheduler_.Next(now_ + absl::Seconds(4)).job);
  scheduler_.PromoteDueRetries(now_ + absl::Seconds(5));
  EXPECT_TRUE(scheduler_.Next(now_ + absl::Seconds(5)).job);
}

TEST_F(SchedulerTest, QueuedJobsExpireAtTheirGroupsDeadline) {
  GroupOptions options;
  options.max_concurrency = 1;
  options.deadline = now_ + absl::Seconds(1);
  GroupState& group = Open(1, options);
  for (uint64_t i = 0; i < 3; ++i) scheduler_.Enqueue(NewJob(group, i));
  auto running = scheduler_.Next(now_).job;
  EXPECT_EQ(scheduler_.NextWakeup(), now_ + absl::Seconds(1));
  EXPECT_TRUE(scheduler_.TakeExpired(now_).empty());
  EXPECT_EQ(scheduler_.TakeExpired(now_ + absl::Seconds(1)).size(), 2u);
  EXPECT_EQ(scheduler_.queued(), 0);
}

TEST_F(SchedulerTest, TakeWaitingEmptiesQueueAndRetries) {
  GroupState& group = Open(1, GroupOptions{});
  GroupState& other = Open(2, GroupOptions{});
  scheduler_.Enqueue(NewJob(group, 0));
  scheduler_.Delay(NewJob(group, 1), now_ + absl::Seconds(1));
  scheduler_.Delay(NewJob(other, 2), now_ + absl::Seconds(1));
  EXPECT_EQ(scheduler_.TakeWaiting(group).size(), 2u);
  EXPECT_EQ(scheduler_.TakeAllWaiting().size(), 1u);
  EXPECT_EQ(scheduler_.queued(), 0);
}

TEST_F(SchedulerTest, TheLowestRateOfTheGroupsOnAHostWinsAndIsPublished) {
  GroupOptions fast;
  fast.rate = 100;
  GroupOptions slow;
  slow.rate = 5;
  GroupState& a = Open(1, fast);
  auto ja = NewJob(a, 0);
  EXPECT_EQ(scheduler_.PublishedRate("api"), 100);
  GroupState& b = Open(2, slow);
  auto jb = NewJob(b, 1);
  EXPECT_EQ(scheduler_.PublishedRate("api"), 5);
  std::vector<std::string> released = scheduler_.CloseGroup(b, now_);
  EXPECT_TRUE(released.empty());  // group a still uses it
  EXPECT_EQ(scheduler_.PublishedRate("api"), 100);
  released = scheduler_.CloseGroup(a, now_);
  EXPECT_EQ(released, std::vector<std::string>{"api"});
  EXPECT_EQ(scheduler_.PublishedRate("api"), 0);
}

}  // namespace
}  // namespace gather::fetch
