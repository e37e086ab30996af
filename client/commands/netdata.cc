#include "client/commands/netdata.h"

#include <chrono>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gather/v1/gather.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace gather::client {

absl::StatusOr<Dashboard> ParseDashboardUrl(absl::string_view url) {
  url = absl::StripAsciiWhitespace(url);
  if (url.empty()) return absl::InvalidArgumentError("the dashboard URL is required");
  Dashboard out;
  size_t hash = url.find('#');
  absl::string_view base = url.substr(0, hash);
  size_t query = base.find('?');
  base = base.substr(0, query);
  while (absl::ConsumeSuffix(&base, "/")) {
  }
  if (!absl::StartsWith(base, "http://") && !absl::StartsWith(base, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the dashboard URL must start with http:// or https:// (got \"", url, "\")"));
  }
  out.base = std::string(base);
  if (hash == absl::string_view::npos) return out;
  for (absl::string_view part : absl::StrSplit(url.substr(hash + 1), ';', absl::SkipEmpty())) {
    size_t equals = part.find('=');
    if (equals == absl::string_view::npos) continue;
    absl::string_view name = part.substr(0, equals);
    absl::string_view value = part.substr(equals + 1);
    int64_t ms = 0;
    if (name != "after" && name != "before") continue;
    if (!absl::SimpleAtoi(value, &ms)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the dashboard URL's ", name, "= is not a number of milliseconds (\"", value, "\")"));
    }
    (name == "after" ? out.after_ms : out.before_ms) = ms;
  }
  return out;
}

std::string ChartLink(const std::string& base, std::string type, std::string family,
                      int64_t after_ms, int64_t before_ms) {
  absl::StrReplaceAll({{".", "_"}}, &type);
  absl::StrReplaceAll({{".", "_"}}, &family);
  return absl::StrCat(base, "/#menu_", type, "_submenu_", family, ";after=", after_ms,
                      ";before=", before_ms);
}

absl::StatusOr<std::map<std::string, std::pair<std::string, std::string>>> ParseChartsIndex(
    absl::string_view json) {
  nlohmann::json index = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (index.is_object() && index.contains("charts")) index = index["charts"];
  if (!index.is_object()) {
    return absl::InvalidArgumentError("the charts index has no \"charts\" object");
  }
  std::map<std::string, std::pair<std::string, std::string>> charts;
  for (const auto& [id, chart] : index.items()) {
    std::string type;
    std::string family;
    if (chart.is_object()) {
      if (chart.contains("type") && chart["type"].is_string()) type = chart["type"];
      if (chart.contains("family") && chart["family"].is_string()) family = chart["family"];
    }
    if (type.empty()) type = id.substr(0, id.find('.'));  // "system.cpu" -> "system"
    charts.emplace(id, std::make_pair(std::move(type), std::move(family)));
  }
  return charts;
}

RankOptions NetdataRankOptions(
    const NetdataOptions& options, const std::string& base, int after_seconds,
    int before_seconds,
    const std::map<std::string, std::pair<std::string, std::string>>& charts) {
  RankOptions rank;
  rank.connection = options.connection;
  for (const auto& [id, unused] : charts) {
    // Chart ids are netdata names (letters, digits, '.', '_', '-'): they need no escaping.
    rank.urls.push_back(absl::StrCat(id, " ", base, "/api/v1/data?chart=", id,
                                     "&points=", options.points, "&after=", after_seconds,
                                     "&before=", before_seconds));
  }
  rank.values_pointer = "/data";
  rank.skip_columns = 1;  // the time column
  rank.row_reducer = "mean";
  rank.across_reducer = "mean";
  rank.top = options.top;
  rank.concurrency = options.concurrency;
  rank.timeout_seconds = options.timeout_seconds;
  rank.deadline_seconds = options.deadline_seconds;
  rank.rate = options.rate;
  rank.max_attempts = options.max_attempts;
  rank.headers = options.headers;
  rank.credential = options.credential;
  rank.json = options.json;
  rank.id_column = "chart";
  const int64_t after_ms = int64_t{after_seconds} * 1000;
  const int64_t before_ms = int64_t{before_seconds} * 1000;
  rank.link = [base, charts, after_ms, before_ms](const std::string& id) {
    auto it = charts.find(id);
    if (it == charts.end()) return absl::StrCat(base, "/");
    return ChartLink(base, it->second.first, it->second.second, after_ms, before_ms);
  };
  return rank;
}

int RunNetdata(const NetdataOptions& options) {
  auto dashboard = ParseDashboardUrl(options.dashboard);
  if (!dashboard.ok()) {
    std::cerr << "gather netdata: " << dashboard.status().message() << "\n";
    return kExitUsage;
  }
  if (options.points <= 0) {
    std::cerr << "gather netdata: --points must be positive\n";
    return kExitUsage;
  }
  // The window: the flags, else the URL's (milliseconds), else the last 10 minutes.
  const int after = options.after.value_or(
      dashboard->after_ms ? static_cast<int>(*dashboard->after_ms / 1000) : -600);
  const int before = options.before.value_or(
      dashboard->before_ms ? static_cast<int>(*dashboard->before_ms / 1000) : 0);

  // The charts index, through gatherd (its egress policy and rate apply): one job, its charts
  // object as a field.
  const std::string index_url = dashboard->base + "/api/v1/charts";
  v1::FetchAndRankRequest request;
  v1::Job* job = request.add_jobs();
  job->set_id("index");
  job->set_url(index_url);
  v1::Field* field = request.add_fields();
  field->set_name("charts");
  field->set_pointer("/charts");
  request.add_required("/charts");
  for (const std::string& text : options.headers) {
    auto header = ParseHeaderFlag(text);
    if (!header.ok()) {
      std::cerr << "gather netdata: " << header.status().message() << "\n";
      return kExitUsage;
    }
    *request.add_headers() = *std::move(header);
  }
  request.set_credential(options.credential);
  request.mutable_policy()->set_timeout_seconds(options.timeout_seconds);
  request.mutable_policy()->set_max_attempts(options.max_attempts);
  int exit_code = kExitOk;
  std::optional<Connection> connection = ConnectOrReport(options.connection, &exit_code);
  if (!connection) return exit_code;
  auto stub = v1::Gather::NewStub(connection->channel);
  grpc::ClientContext context;
  connection->Prepare(context);
  if (options.deadline_seconds > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(
                             static_cast<int64_t>(options.deadline_seconds * 1000)));
  }
  auto reader = stub->FetchAndRank(&context, request);
  v1::FetchAndRankResponse response;
  std::optional<v1::JobResult> index;
  while (reader->Read(&response)) {
    if (response.has_result()) index = response.result();
    if (response.has_results() && response.results().results_size() > 0) {
      index = response.results().results(0);
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(status, options.connection.server);
  if (!index || index->status() != v1::JOB_STATUS_OK || index->values_size() != 1) {
    std::cerr << "gather netdata: the charts index " << index_url << " failed";
    if (index) {
      std::cerr << ": " << StatusName(index->status());
      if (index->http_status() != 0) std::cerr << " (HTTP " << index->http_status() << ")";
      if (!index->error().empty()) std::cerr << ": " << index->error();
    }
    std::cerr << "\n";
    return kExitJobsFailed;
  }
  auto charts = ParseChartsIndex(index->values(0));
  if (!charts.ok() || charts->empty()) {
    std::cerr << "gather netdata: the charts index " << index_url << " lists no charts\n";
    return kExitJobsFailed;
  }
  return RunRank(NetdataRankOptions(options, dashboard->base, after, before, *charts));
}

}  // namespace gather::client
