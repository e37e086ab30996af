// The two reactors over a FakeFetchEngine (no curl, no upstream): one result per job, flow
// control of BatchLookup's keys (a slow upstream, a slow reader), cancel and drain against
// submits, FetchAndRank's batched and unbatched results, its drain and its summary.
#include <atomic>
#include <chrono>
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
#include "tests/support/scale.h"

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

// Pages: ".../item/K" answers items K.0 and K.1 and a next page ".../item/K/2", which answers
// item K.2 and no next page.
fetch::FetchResult TwoPages(const fetch::FetchRequest& request) {
  const std::string path = request.url.substr(request.url.find("/item/") + 6);
  if (path.find('/') == std::string::npos) {
    return Json(absl::StrCat(R"({"items":[{"v":")", path, R"(.0"},{"v":")", path,
                             R"(.1"}],"next":"/item/)", path, R"(/2"})"));
  }
  const std::string key = path.substr(0, path.find('/'));
  return Json(absl::StrCat(R"({"items":[{"v":")", key, R"(.2"}]})"));
}

v1::BatchLookupRequest PagedSpec() {
  v1::BatchLookupRequest message = Spec();
  message.mutable_spec()->mutable_paging()->set_next_url_pointer("/next");
  message.mutable_spec()->mutable_paging()->set_items("/items");
  return message;
}

std::vector<v1::LookupResult> ReadRows(LookupStream& stream, v1::LookupSummary* summary,
                                       grpc::Status* status) {
  std::vector<v1::LookupResult> rows;
  v1::BatchLookupResponse response;
  while (stream.Read(&response)) {
    if (response.has_summary()) *summary = response.summary();
    for (const v1::LookupResult& row : response.results().results()) rows.push_back(row);
  }
  *status = stream.Finish();
  return rows;
}

TEST(ReactorTest, PagedKeysSendTheirRowsTogetherWithMoreOnAllButTheLast) {
  ReactorHarness harness;
  harness.engine().set_responder(TwoPages);
  grpc::ClientContext context;
  std::unique_ptr<LookupStream> stream = harness.stub().BatchLookup(&context);
  ASSERT_TRUE(stream->Write(PagedSpec()));
  const int keys = 500;
  ASSERT_TRUE(stream->Write(Keys(0, keys)));
  stream->WritesDone();
  v1::LookupSummary summary;
  grpc::Status status;
  std::vector<v1::LookupResult> rows = ReadRows(*stream, &summary, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(rows.size(), static_cast<size_t>(3 * keys));
  for (size_t i = 0; i < rows.size(); i += 3) {
    // A key's three rows one after the other: page 1 items 0 and 1, then page 2 item 0.
    const std::string key = rows[i].key();
    for (size_t j = 0; j < 3; ++j) {
      const v1::LookupResult& row = rows[i + j];
      ASSERT_EQ(row.key(), key) << i + j;
      ASSERT_EQ(row.status(), v1::JOB_STATUS_OK);
      EXPECT_EQ(row.more(), j < 2);
      EXPECT_EQ(row.page(), j < 2 ? 1u : 2u);
      EXPECT_EQ(row.item(), j < 2 ? j : 0u);
      EXPECT_EQ(row.values(0), absl::StrCat("\"", key, ".", j, "\""));
    }
  }
  EXPECT_EQ(summary.keys(), static_cast<uint64_t>(keys));
  EXPECT_EQ(summary.rows(), static_cast<uint64_t>(3 * keys));
  EXPECT_EQ(summary.pages(), static_cast<uint64_t>(2 * keys));
  ASSERT_EQ(summary.status_counts_size(), 1);
  EXPECT_EQ(summary.status_counts(0).count(), static_cast<uint64_t>(keys));  // keys, not rows
  EXPECT_TRUE(harness.engine().WaitForAllClosed());
}

// A drain between a key's pages: the key ends CANCELLED with one row, none of its items is sent.
TEST(ReactorTest, PagedKeysDrainedBetweenPagesSendNoPartialKey) {
  ReactorHarness harness;  // jobs wait until the test answers them
  grpc::ClientContext context;
  std::unique_ptr<LookupStream> stream = harness.stub().BatchLookup(&context);
  ASSERT_TRUE(stream->Write(PagedSpec()));
  const int keys = 100;
  ASSERT_TRUE(stream->Write(Keys(0, keys)));
  ASSERT_TRUE(harness.engine().WaitForWaiting(keys));
  EXPECT_EQ(harness.engine().AnswerAll(TwoPages), keys);  // first pages
  ASSERT_TRUE(harness.engine().WaitForWaiting(keys));     // every key's second page waits
  harness.state().DrainAll();
  stream->WritesDone();
  v1::LookupSummary summary;
  grpc::Status status;
  std::vector<v1::LookupResult> rows = ReadRows(*stream, &summary, &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  ASSERT_EQ(rows.size(), static_cast<size_t>(keys));
  for (const v1::LookupResult& row : rows) {
    EXPECT_EQ(row.status(), v1::JOB_STATUS_CANCELLED);
    EXPECT_FALSE(row.more());
    EXPECT_EQ(row.values_size(), 0);
    EXPECT_NE(row.error().find("were not sent"), std::string::npos) << row.error();
  }
  EXPECT_TRUE(harness.engine().WaitForAllClosed());
}

// {"data":[[0, n]]} for a URL ending in n: job i scores i.
fetch::FetchResult ScoreFromUrl(const fetch::FetchRequest& request) {
  return Json(absl::StrCat(R"({"data":[[0,)", request.url.substr(request.url.rfind('/') + 1),
                           "]]}"));
}

v1::FetchAndRankRequest RankRequest(int jobs, bool batch_results) {
  v1::FetchAndRankRequest request;
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
  request.set_batch_results(batch_results);
  return request;
}

struct RankOutcome {
  std::map<uint64_t, v1::JobResult> rows;  // by seq
  int duplicates = 0;
  int single_messages = 0;  // FetchAndRankResponse.result
  int batch_messages = 0;   // FetchAndRankResponse.results
  int summaries = 0;
  bool after_summary = false;  // a message came after the summary
  std::vector<std::string> top;
  grpc::Status status;
};

RankOutcome ReadRank(grpc::ClientReader<v1::FetchAndRankResponse>& reader) {
  RankOutcome out;
  v1::FetchAndRankResponse response;
  auto add = [&](const v1::JobResult& row) {
    if (!out.rows.emplace(row.seq(), row).second) ++out.duplicates;
  };
  while (reader.Read(&response)) {
    if (out.summaries > 0) out.after_summary = true;
    if (response.has_summary()) {
      ++out.summaries;
      for (const auto& entry : response.summary().ranking()) out.top.push_back(entry.id());
    } else if (response.has_results()) {
      ++out.batch_messages;
      for (const v1::JobResult& row : response.results().results()) add(row);
    } else if (response.has_result()) {
      ++out.single_messages;
      add(response.result());
    }
  }
  out.status = reader.Finish();
  return out;
}

const std::vector<std::string> kTopFive = {"job299", "job298", "job297", "job296", "job295"};

TEST(ReactorTest, FetchAndRankGivesEveryJobOneResultThenTheRanking) {
  ReactorHarness harness;
  harness.engine().set_responder(ScoreFromUrl);
  const int jobs = 300;
  grpc::ClientContext context;
  auto reader = harness.stub().FetchAndRank(&context, RankRequest(jobs, /*batch_results=*/false));
  RankOutcome out = ReadRank(*reader);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  // Without batch_results (older clients): one result per message, as before.
  EXPECT_EQ(out.single_messages, jobs);
  EXPECT_EQ(out.batch_messages, 0);
  EXPECT_EQ(out.duplicates, 0);
  ASSERT_EQ(out.rows.size(), static_cast<size_t>(jobs));
  for (const auto& [seq, row] : out.rows) {
    EXPECT_EQ(row.status(), v1::JOB_STATUS_OK) << row.error();
    EXPECT_EQ(row.id(), absl::StrCat("job", seq));
  }
  EXPECT_EQ(out.summaries, 1);
  EXPECT_FALSE(out.after_summary);
  EXPECT_EQ(out.top, kTopFive);
}

TEST(ReactorTest, FetchAndRankBatchesResultsWithOneResultPerJob) {
  ReactorHarness harness;  // jobs wait until the test answers them
  const int jobs = 300;
  grpc::ClientContext context;
  auto reader = harness.stub().FetchAndRank(&context, RankRequest(jobs, /*batch_results=*/true));
  ASSERT_TRUE(harness.engine().WaitForWaiting(jobs));
  // Completions in one burst: they collect into batches of ~100 rather than 300 messages.
  EXPECT_EQ(harness.engine().AnswerAll(ScoreFromUrl), jobs);
  RankOutcome out = ReadRank(*reader);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.single_messages, 0);
  EXPECT_GE(out.batch_messages, 1);
  EXPECT_LT(out.batch_messages, jobs / 2);
  EXPECT_EQ(out.duplicates, 0);
  ASSERT_EQ(out.rows.size(), static_cast<size_t>(jobs));
  for (const auto& [seq, row] : out.rows) {
    EXPECT_EQ(row.status(), v1::JOB_STATUS_OK) << row.error();
    EXPECT_EQ(row.id(), absl::StrCat("job", seq));
    EXPECT_EQ(row.score(), static_cast<double>(seq));
  }
  EXPECT_EQ(out.summaries, 1);
  EXPECT_FALSE(out.after_summary);
  EXPECT_EQ(out.top, kTopFive);
  EXPECT_TRUE(harness.engine().WaitForAllClosed());
}

TEST(ReactorTest, FetchAndRankDrainedMidRunSendsCancelledRowsAndTheRanking) {
  for (bool batch_results : {false, true}) {
    SCOPED_TRACE(batch_results ? "batched" : "one per message");
    ReactorHarness harness;
    const int jobs = 300, answered = 120;
    grpc::ClientContext context;
    auto reader = harness.stub().FetchAndRank(&context, RankRequest(jobs, batch_results));
    ASSERT_TRUE(harness.engine().WaitForWaiting(jobs));
    ASSERT_EQ(harness.engine().AnswerFirst(answered, ScoreFromUrl), answered);
    EXPECT_EQ(harness.state().DrainAll(), 1);
    RankOutcome out = ReadRank(*reader);
    // A drained FetchAndRank still ends OK, with every job's row and the ranking of those done.
    ASSERT_TRUE(out.status.ok()) << out.status.error_message();
    EXPECT_EQ(out.duplicates, 0);
    ASSERT_EQ(out.rows.size(), static_cast<size_t>(jobs));
    int cancelled = 0;
    for (const auto& [seq, row] : out.rows) {
      if (seq < static_cast<uint64_t>(answered)) {
        EXPECT_EQ(row.status(), v1::JOB_STATUS_OK) << seq;
      } else {
        EXPECT_EQ(row.status(), v1::JOB_STATUS_CANCELLED) << seq;
        ++cancelled;
      }
    }
    EXPECT_EQ(cancelled, jobs - answered);
    EXPECT_EQ(out.summaries, 1);
    EXPECT_FALSE(out.after_summary);
    EXPECT_EQ(out.top, (std::vector<std::string>{"job119", "job118", "job117", "job116",
                                                 "job115"}));
    EXPECT_EQ(harness.engine().waiting(), 0u);
    EXPECT_TRUE(harness.engine().WaitForAllClosed());
  }
}

// A caller that reads nothing: the results the server cannot write stay within its window, so it
// stops reading keys (and gRPC flow control stops the caller) instead of buffering every result.
// Bounded by design at every instant; the wait below only decides when to look.
TEST(ReactorTest, BatchLookupSlowReaderDoesNotGrowTheServer) {
  // Under a sanitizer (many times slower per byte) a small run checks only that every row still
  // comes once; the bound is measured without one.
  const bool measure = !kUnderSanitizer;
  ReactorHarness harness;
  // Answers at once, each with a ~1 KB value, so the transport's buffers hold few rows.
  const std::string padding(measure ? 1000 : 100, 'x');
  harness.engine().set_responder([&padding](const fetch::FetchRequest& request) {
    return Json(absl::StrCat(R"({"v":")", request.url.substr(request.url.rfind('/') + 1),
                             padding, "\"}"));
  });
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  std::unique_ptr<v1::Gather::Stub> stub = harness.NewStub(args);
  grpc::ClientContext context;
  std::unique_ptr<LookupStream> stream = stub->BatchLookup(&context);
  ASSERT_TRUE(stream->Write(Spec()));
  const int total = measure ? 40'000 : 4'000, per_message = 1000;
  std::thread writer([&] {
    for (int first = 0; first < total; first += per_message) {
      if (!stream->Write(Keys(static_cast<uint64_t>(first), per_message))) return;
    }
    stream->WritesDone();
  });
  if (measure) {
    // Wait until the server stops taking keys (no new job for a while), reading nothing.
    uint64_t submitted = 0;
    for (int quiet = 0, rounds = 0; quiet < 10 && rounds < 400; ++rounds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      uint64_t now = harness.engine().submitted();
      quiet = now == submitted ? quiet + 1 : 0;
      submitted = now;
    }
    // The window (2048 keys) plus the message that crossed it, plus what the transports hold
    // (a few hundred KB of ~1 KB rows): far below the keys sent.
    const uint64_t bound = 2048 + per_message + 2048;
    EXPECT_LE(submitted, bound);
    EXPECT_LT(submitted, static_cast<uint64_t>(total));
  }
  LookupOutcome out = ReadAll(*stream);
  writer.join();
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.duplicates, 0);
  EXPECT_EQ(out.rows.size(), static_cast<size_t>(total));
  EXPECT_TRUE(out.summary);
}

}  // namespace
}  // namespace gather::testing
