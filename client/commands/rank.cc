#include "client/commands/rank.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/commands/common.h"
#include "client/output/table.h"
#include "gather/v1/gather.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "common/reducer.h"

namespace gather::client {
namespace {

absl::StatusOr<v1::Reducer> ReducerFlag(absl::string_view flag, absl::string_view value) {
  auto reducer = common::ParseReducer(value);
  if (!reducer.ok()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", reducer.status().message()));
  switch (*reducer) {
    case common::Reducer::kMean: return v1::REDUCER_MEAN;
    case common::Reducer::kSum: return v1::REDUCER_SUM;
    case common::Reducer::kMin: return v1::REDUCER_MIN;
    case common::Reducer::kMax: return v1::REDUCER_MAX;
    case common::Reducer::kLast: return v1::REDUCER_LAST;
    case common::Reducer::kCount: return v1::REDUCER_COUNT;
  }
  return v1::REDUCER_UNSPECIFIED;
}

absl::Status AddJob(v1::FetchAndRankRequest& request, absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  if (line.empty() || line.front() == '#') return absl::OkStatus();
  std::vector<absl::string_view> parts = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  v1::Job* job = request.add_jobs();
  if (parts.size() >= 2) {
    job->set_id(std::string(parts[0]));
    job->set_url(std::string(parts[1]));
  } else {
    job->set_url(std::string(parts[0]));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::FetchAndRankRequest> BuildRankRequest(const RankOptions& options) {
  v1::FetchAndRankRequest request;
  for (const std::string& url : options.urls) {
    if (absl::Status status = AddJob(request, url); !status.ok()) return status;
  }
  if (!options.urls_file.empty()) {
    std::ifstream in(options.urls_file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("--urls: cannot open ", options.urls_file));
    std::string line;
    while (std::getline(in, line)) {
      if (absl::Status status = AddJob(request, line); !status.ok()) return status;
    }
  }
  bool discovery = !options.index_url.empty() || !options.url_template.empty();
  if (discovery) {
    if (request.jobs_size() > 0) {
      return absl::InvalidArgumentError("give URLs or --index/--template, not both");
    }
    if (options.index_url.empty() || options.url_template.empty()) {
      return absl::InvalidArgumentError("--index and --template go together");
    }
    v1::Discovery* d = request.mutable_discovery();
    d->set_index_url(options.index_url);
    d->set_keys_pointer(options.keys_pointer);
    d->set_url_template(options.url_template);
  } else if (request.jobs_size() == 0) {
    return absl::InvalidArgumentError("no URLs: give them as arguments, with --urls FILE, or use --index/--template");
  }
  v1::ScoreSpec* score = request.mutable_score();
  score->set_values_pointer(options.values_pointer);
  score->set_skip_columns(options.skip_columns);
  auto row = ReducerFlag("--row", options.row_reducer);
  if (!row.ok()) return row.status();
  auto across = ReducerFlag("--across", options.across_reducer);
  if (!across.ok()) return across.status();
  score->set_row_reducer(*row);
  score->set_across_reducer(*across);
  request.set_top_n(options.top);
  request.set_order(options.ascending ? v1::ORDER_ASCENDING : v1::ORDER_DESCENDING);
  for (const std::string& text : options.headers) {
    auto header = ParseHeaderFlag(text);
    if (!header.ok()) return header.status();
    *request.add_headers() = *header;
  }
  request.set_credential(options.credential);
  request.set_batch_results(true);
  v1::FetchPolicy* policy = request.mutable_policy();
  policy->set_concurrency(options.concurrency);
  policy->set_timeout_seconds(options.timeout_seconds);
  policy->set_max_body_bytes(options.max_body_bytes);
  if (options.rate < 0) return absl::InvalidArgumentError("--rate must be >= 0");
  policy->set_rate(options.rate);
  policy->set_burst(options.burst);
  policy->set_max_attempts(options.max_attempts);
  return request;
}

std::vector<std::string> RankHosts(const RankOptions& options) {
  auto request = BuildRankRequest(options);
  if (!request.ok()) return {};
  return HostsOfRequest(*request);
}

int RunRank(const RankOptions& options) {
  auto request = BuildRankRequest(options);
  if (!request.ok()) {
    std::cerr << "gather: " << request.status().message() << "\n";
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::optional<Connection> connection = ConnectOrReport(options.connection, &exit_code);
  if (!connection) return exit_code;
  auto stub = v1::Gather::NewStub(connection->channel);
  grpc::ClientContext context;
  connection->Prepare(context);
  if (options.deadline_seconds > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(static_cast<int64_t>(options.deadline_seconds * 1000)));
  }
  std::unique_ptr<grpc::ClientReader<v1::FetchAndRankResponse>> reader =
      stub->FetchAndRank(&context, *request);
  v1::FetchAndRankResponse response;
  std::vector<v1::JobResult> failures;
  std::optional<v1::RankSummary> summary;
  while (reader->Read(&response)) {
    // Batched results (what this client asks for); one result per message from older servers.
    if (response.has_results()) {
      for (const v1::JobResult& result : response.results().results()) {
        if (!IsSuccess(result.status())) failures.push_back(result);
      }
    } else if (response.has_result()) {
      if (!IsSuccess(response.result().status())) failures.push_back(response.result());
    } else if (response.has_summary()) {
      summary = response.summary();
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(status, options.connection.server);
  if (!summary) {
    std::cerr << "gather: the stream ended without a summary\n";
    return kExitRpcFailed;
  }

  if (options.json) {
    for (const v1::RankedJob& entry : summary->ranking()) {
      nlohmann::json line = {{"rank", entry.rank()}, {"id", entry.id()}, {"score", entry.score()},
                             {"url", entry.url()}};
      if (options.link) line["link"] = options.link(entry.id());
      std::cout << line.dump() << "\n";
    }
  } else {
    std::vector<std::string> header = {"rank", options.id_column, "score"};
    std::vector<bool> right = {true, false, true};
    header.push_back(options.link ? "link" : "url");
    right.push_back(false);
    Table table(header, right);
    for (const v1::RankedJob& entry : summary->ranking()) {
      table.AddRow({std::to_string(entry.rank()), entry.id(), FormatFixed(entry.score(), options.decimals),
                    options.link ? options.link(entry.id()) : entry.url()});
    }
    table.Print(std::cout);
  }
  std::cout.flush();

  if (!options.quiet) {
    std::string counts;
    for (const v1::StatusCount& count : summary->status_counts()) {
      absl::StrAppend(&counts, counts.empty() ? "" : ", ", count.count(), " ", StatusName(count.status()));
    }
    std::cerr << summary->jobs() << " jobs in " << FormatFixed(summary->wall_ms() / 1000, 2)
              << " s: " << (counts.empty() ? "none" : counts) << "\n";
    size_t shown = 0;
    for (const v1::JobResult& failure : failures) {
      if (++shown > 10) {
        std::cerr << "  ... and " << failures.size() - 10 << " more failures\n";
        break;
      }
      std::cerr << "  " << StatusName(failure.status()) << " " << failure.id() << ": "
                << failure.error() << "\n";
    }
  }
  return failures.empty() ? kExitOk : kExitJobsFailed;
}

}  // namespace gather::client
