// The two reactors over a FakeFetchEngine (no curl, no upstream): one result per job, flow
// control of BatchLookup's keys, cancel and drain against submits, and FetchAndRank's summary.
#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/reactor_harness.h"

namespace gather::testing {
namespace {

using LookupStream = grpc::ClientReaderWriter<v1::BatchLookupRequest, v1::BatchLookupResponse>;

fetch::FetchResult Json(std::string body) {
  fetch::FetchResult result;
  result.outcome = fetch::FetchOutcome::kResponse;
  result.http_status = 200;
  result.body = std::move(body);
  result.attempts = 1;
  return result;
}

// {"v": "<the URL's last path segment>"}: each answer names the key it is for.
fetch::FetchResult EchoKey(const fetch::FetchRequest& request) {
  return Json(absl::StrCat(R"({"v":")", request.url.substr(request.url.rfind('/') + 1), "\"}"));
}

v1::BatchLookupRequest Spec(int concurrency = 0) {
  v1::BatchLookupRequest message;
  v1::LookupSpec* spec = message.mutable_spec();
  spec->set_url_template("http://127.0.0.1:9/item/{key}");
  v1::Field* field = spec->add_fields();
  field->set_name("v");
  field->set_pointer("/v");
  if (concurrency > 0) spec->mutable_policy()->set_concurrency(concurrency);
  return message;
}

v1::BatchLookupRequest Keys(uint64_t first, int count) {
  v1::BatchLookupRequest message;
  for (int i = 0; i < count; ++i) {
    v1::Key* key = message.mutable_keys()->add_keys();
    key->set_seq(first + static_cast<uint64_t>(i));
    key->set_key(absl::StrCat("k", first + static_cast<uint64_t>(i)));
  }
  return message;
}

struct LookupOutcome {
  std::map<uint64_t, v1::LookupResult> rows;  // by seq
  int duplicates = 0;
  bool summary = false;
  uint64_t summary_keys = 0;
  grpc::Status status;
};

LookupOutcome ReadAll(LookupStream& stream) {
  LookupOutcome out;
  v1::BatchLookupResponse response;
  while (stream.Read(&response)) {
    if (response.has_summary()) {
      out.summary = true;
      out.summary_keys = response.summary().keys();
      continue;
    }
    for (const v1::LookupResult& row : response.results().results()) {
      if (!out.rows.emplace(row.seq(), row).second) ++out.duplicates;
    }
  }
  out.status = stream.Finish();
  return out;
}

TEST(ReactorTest, BatchLookupGivesEveryKeyOneRow) {
  ReactorHarness harness;
  harness.engine().set_responder(EchoKey);
  grpc::ClientContext context;
  std::unique_ptr<LookupStream> stream = harness.stub().BatchLookup(&context);
  ASSERT_TRUE(stream->Write(Spec()));
  const int messages = 3, per_message = 1000;
  for (int m = 0; m < messages; ++m) ASSERT_TRUE(stream->Write(Keys(m * per_message, per_message)));
  stream->WritesDone();
  LookupOutcome out = ReadAll(*stream);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.duplicates, 0);
  ASSERT_EQ(out.rows.size(), static_cast<size_t>(messages * per_message));
  for (const auto& [seq, row] : out.rows) {
    EXPECT_EQ(row.status(), v1::JOB_STATUS_OK) << seq;
    EXPECT_EQ(row.key(), absl::StrCat("k", seq));
    ASSERT_EQ(row.values_size(), 1);
    EXPECT_EQ(row.values(0), absl::StrCat("\"k", seq, "\""));
  }
  EXPECT_TRUE(out.summary);
  EXPECT_EQ(out.summary_keys, static_cast<uint64_t>(messages * per_message));
  EXPECT_TRUE(harness.engine().WaitForAllClosed());
}

TEST(ReactorTest, BatchLookupStopsReadingKeysWhileItsWindowIsFull) {
  ReactorHarness harness;  // jobs wait until the test answers them
  grpc::ClientContext context;
  std::unique_ptr<LookupStream> stream = harness.stub().BatchLookup(&context);
  ASSERT_TRUE(stream->Write(Spec(/*concurrency=*/50)));
  const int total = 20'000, per_message = 1000;
  std::thread writer([&] {
    for (int first = 0; first < total; first += per_message) {
      if (!stream->Write(Keys(static_cast<uint64_t>(first), per_message))) return;
    }
    stream->WritesDone();
  });
  // The window is max(4 x concurrency, 2048) keys plus the message that crossed it.
  const uint64_t window = 2048 + per_message;
  ASSERT_TRUE(harness.engine().WaitForWaiting(2048));
  EXPECT_LE(harness.engine().submitted(), window);
  // Answering lets the rest in, never more than the window at a time.
  LookupOutcome out;
  std::thread reader([&] { out = ReadAll(*stream); });
  uint64_t answered = 0;
  while (answered < static_cast<uint64_t>(total)) {
    ASSERT_TRUE(harness.engine().WaitForWaiting(1));
    EXPECT_LE(harness.engine().submitted() - answered, window);
    answered += static_cast<uint64_t>(harness.engine().AnswerAll(EchoKey));
  }
  writer.join();
  reader.join();
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.rows.size(), static_cast<size_t>(total));
  EXPECT_EQ(out.duplicates, 0);
}

// A drain that comes while a message's keys are being submitted either reaches those jobs or
// comes after them: it never leaves them running (before, HandleKeys decided "not cancelled",
// released the lock and submitted after the drain's CancelGroup had gone by).
TEST(ReactorTest, DrainCannotOvertakeASubmit) {
  ReactorHarness harness;
  std::atomic<bool> first{true};
  std::thread drainer;
  std::promise<void> hook_ran;
  harness.engine().set_submit_hook([&] {
    if (!first.exchange(false)) return;
    std::promise<void> drained;
    std::future<void> done = drained.get_future();
    drainer = std::thread([&harness, drained = std::move(drained)]() mutable {
      harness.state().DrainAll();
      drained.set_value();
    });
    // Give the drain every chance to run in the middle of this submit: with the submit under
    // the call's lock it cannot, and this wait ends by its timeout.
    done.wait_for(std::chrono::milliseconds(300));
    hook_ran.set_value();
  });
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  std::unique_ptr<LookupStream> stream = harness.stub().BatchLookup(&context);
  ASSERT_TRUE(stream->Write(Spec()));
  ASSERT_TRUE(stream->Write(Keys(0, 100)));
  hook_ran.get_future().wait();
  drainer.join();
  // A drained call waits for the read in progress (gatherd's shutdown cuts it with the server).
  stream->WritesDone();
  LookupOutcome out = ReadAll(*stream);
  // Ended by the drain (UNAVAILABLE: keys not read), not by the deadline.
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::UNAVAILABLE) << out.status.error_message();
  ASSERT_EQ(out.rows.size(), 100u);
  for (const auto& [seq, row] : out.rows) EXPECT_EQ(row.status(), v1::JOB_STATUS_CANCELLED) << seq;
  EXPECT_EQ(harness.engine().waiting(), 0u);
  EXPECT_TRUE(harness.engine().WaitForAllClosed());
}

TEST(ReactorTest, ClientCancelEndsEveryWaitingJob) {
  ReactorHarness harness;
  grpc::ClientContext context;
  std::unique_ptr<LookupStream> stream = harness.stub().BatchLookup(&context);
  ASSERT_TRUE(stream->Write(Spec()));
  ASSERT_TRUE(stream->Write(Keys(0, 500)));
  ASSERT_TRUE(harness.engine().WaitForWaiting(500));
  context.TryCancel();
  LookupOutcome out = ReadAll(*stream);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::CANCELLED);
  // The call ends (and closes its group) only after its last job's completion: the cancel
  // reached every waiting job, none was answered.
  ASSERT_TRUE(harness.engine().WaitForAllClosed());
  EXPECT_EQ(harness.engine().waiting(), 0u);
}

TEST(ReactorTest, FetchAndRankGivesEveryJobOneResultThenTheRanking) {
  ReactorHarness harness;
  // The score is the number in the URL: job i scores i.
  harness.engine().set_responder([](const fetch::FetchRequest& request) {
    return Json(absl::StrCat(R"({"data":[[0,)", request.url.substr(request.url.rfind('/') + 1),
                             "]]}"));
  });
  v1::FetchAndRankRequest request;
  const int jobs = 300;
  for (int i = 0; i < jobs; ++i) {
    v1::Job* job = request.add_jobs();
    job->set_id(absl::StrCat("job", i));
    job->set_url(absl::StrCat("http://127.0.0.1:9/score/", i));
  }
  request.mutable_score()->set_values_pointer("/data");
  request.mutable_score()->set_skip_columns(1);
  request.mutable_score()->set_row_reducer(v1::REDUCER_MAX);
  request.mutable_score()->set_across_reducer(v1::REDUCER_MAX);
  request.set_top_n(5);
  grpc::ClientContext context;
  auto reader = harness.stub().FetchAndRank(&context, request);
  v1::FetchAndRankResponse response;
  std::set<std::string> ids;
  int results = 0;
  std::vector<std::string> top;
  while (reader->Read(&response)) {
    if (response.has_summary()) {
      for (const auto& entry : response.summary().ranking()) top.push_back(entry.id());
      continue;
    }
    ++results;
    ids.insert(response.result().id());
    EXPECT_EQ(response.result().status(), v1::JOB_STATUS_OK) << response.result().error();
  }
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(results, jobs);
  EXPECT_EQ(ids.size(), static_cast<size_t>(jobs));
  EXPECT_EQ(top, (std::vector<std::string>{"job299", "job298", "job297", "job296", "job295"}));
}

}  // namespace
}  // namespace gather::testing
