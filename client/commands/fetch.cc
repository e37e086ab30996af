#include "client/commands/fetch.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/json_pointer.h"
#include "common/json_string.h"
#include "common/status_names.h"
#include "gather/v1/gather.grpc.pb.h"

namespace gather::client {
namespace {

// "ID=URL", "ID URL" or "URL" (then the URL is its own id).
absl::Status AddJob(v1::FetchAndRankRequest& request, absl::string_view text,
                    absl::string_view where) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty() || text.front() == '#') return absl::OkStatus();
  std::string id;
  std::string url;
  size_t scheme = text.find("://");
  size_t equals = text.find('=');
  size_t space = text.find_first_of(" \t");
  if (equals != absl::string_view::npos && (scheme == absl::string_view::npos || equals < scheme)) {
    id = std::string(text.substr(0, equals));
    url = std::string(absl::StripAsciiWhitespace(text.substr(equals + 1)));
  } else if (space != absl::string_view::npos) {
    id = std::string(text.substr(0, space));
    url = std::string(absl::StripAsciiWhitespace(text.substr(space + 1)));
  } else {
    id = url = std::string(text);
  }
  if (id.empty() || url.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " \"", text, "\": expected ID=URL"));
  }
  for (const v1::Job& job : request.jobs()) {
    if (job.id() == id) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": the id \"", id, "\" is given twice"));
    }
  }
  v1::Job* job = request.add_jobs();
  job->set_id(std::move(id));
  job->set_url(std::move(url));
  return absl::OkStatus();
}

void AppendFieldsObject(const v1::JobResult& row, const std::vector<std::string>& field_names,
                        std::string& out) {
  out.push_back('{');
  for (size_t i = 0; i < field_names.size(); ++i) {
    if (i > 0) out.push_back(',');
    common::AppendJsonString(field_names[i], out);
    out.push_back(':');
    const int index = static_cast<int>(i);
    out.append(index < row.values_size() && !row.values(index).empty() ? row.values(index)
                                                                       : "null");
  }
  out.push_back('}');
}

}  // namespace

absl::StatusOr<v1::FetchAndRankRequest> BuildFetchRequest(const FetchOptions& options,
                                                          std::vector<std::string>* field_names) {
  v1::FetchAndRankRequest request;
  for (const std::string& text : options.jobs) {
    if (absl::Status status = AddJob(request, text, "job"); !status.ok()) return status;
  }
  if (!options.urls_file.empty()) {
    std::ifstream in(options.urls_file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("--urls: cannot open ", options.urls_file));
    std::string line;
    while (std::getline(in, line)) {
      if (absl::Status status = AddJob(request, line, "--urls"); !status.ok()) return status;
    }
  }
  if (request.jobs_size() == 0) {
    return absl::InvalidArgumentError("no jobs: give ID=URL arguments or --urls FILE");
  }
  if (options.fields.empty()) {
    return absl::InvalidArgumentError("--field NAME=/json/pointer is required (at least one)");
  }
  for (const std::string& text : options.fields) {
    auto field = ParseFieldFlag(text, *field_names);
    if (!field.ok()) return field.status();
    field_names->push_back(field->name());
    *request.add_fields() = *std::move(field);
  }
  for (const std::string& pointer : options.required) {
    if (absl::Status status = CheckRequireFlag(pointer); !status.ok()) return status;
    request.add_required(pointer);
  }
  const std::string method = absl::AsciiStrToUpper(options.method);
  if (!(method.empty() || method == "GET" || method == "HEAD" || method == "POST" ||
        method == "PUT" || method == "PATCH" || method == "DELETE")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--method: \"", options.method, "\" is not GET, HEAD, POST, PUT, PATCH or DELETE"));
  }
  request.set_method(method);
  if (!options.body.empty()) {
    if (method.empty() || method == "GET" || method == "HEAD") {
      return absl::InvalidArgumentError("--body needs --method POST, PUT, PATCH or DELETE");
    }
    std::string body = options.body;
    if (body.front() == '@') {
      std::ifstream file(body.substr(1), std::ios::binary);
      if (!file) return absl::InvalidArgumentError(absl::StrCat("--body: cannot read ", body.substr(1)));
      body.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    request.set_body(std::move(body));
  }
  for (const std::string& text : options.headers) {
    auto header = ParseHeaderFlag(text);
    if (!header.ok()) return header.status();
    *request.add_headers() = *std::move(header);
  }
  auto paging = BuildPagingFlags(options.pages);
  if (!paging.ok()) return paging.status();
  if (*paging) *request.mutable_paging() = **paging;
  request.set_credential(options.credential);
  request.set_top_n(0);
  request.set_batch_results(true);
  if (options.timeout_seconds < 0) return absl::InvalidArgumentError("--timeout must be >= 0");
  if (options.rate < 0) return absl::InvalidArgumentError("--rate must be >= 0");
  v1::FetchPolicy* policy = request.mutable_policy();
  policy->set_concurrency(options.concurrency);
  policy->set_timeout_seconds(options.timeout_seconds);
  policy->set_rate(options.rate);
  policy->set_max_attempts(options.max_attempts);
  policy->set_idempotent(options.idempotent);
  return request;
}

void AppendFetchRow(const v1::JobResult& row, const std::vector<std::string>& field_names,
                    std::string& out) {
  out.append("{\"id\":");
  common::AppendJsonString(row.id(), out);
  out.append(",\"url\":");
  common::AppendJsonString(row.url(), out);
  if (row.page() > 0) absl::StrAppend(&out, ",\"page\":", row.page());
  if (row.has_item()) absl::StrAppend(&out, ",\"item\":", row.item());
  if (row.more()) out.append(",\"more\":true");
  absl::StrAppend(&out, ",\"status\":\"", common::JobStatusName(row.status()),
                  "\",\"http_status\":", row.http_status());
  const bool ok = row.status() == v1::JOB_STATUS_OK;
  if (ok) {
    out.append(",\"fields\":");
    AppendFieldsObject(row, field_names, out);
  }
  absl::StrAppend(&out, ",\"attempts\":", row.attempts(), ",\"latency_ms\":",
                  absl::StrFormat("%.2f", row.latency_ms()));
  if (row.pages_cut()) out.append(",\"pages_cut\":true");
  if (!ok) {
    out.append(",\"error\":");
    common::AppendJsonString(row.error(), out);
  }
  out.append("}\n");
}

std::vector<std::string> FetchHosts(const FetchOptions& options) {
  std::vector<std::string> names;
  auto request = BuildFetchRequest(options, &names);
  if (!request.ok()) return {};
  return HostsOfRequest(*request);
}

int RunFetch(const FetchOptions& options) {
  std::vector<std::string> field_names;
  auto request = BuildFetchRequest(options, &field_names);
  if (!request.ok()) {
    std::cerr << "gather fetch: " << request.status().message() << "\n";
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
                         std::chrono::milliseconds(
                             static_cast<int64_t>(options.deadline_seconds * 1000)));
  }
  std::unique_ptr<grpc::ClientReader<v1::FetchAndRankResponse>> reader =
      stub->FetchAndRank(&context, *request);
  v1::FetchAndRankResponse response;
  // --combine: each job's rows by id (several when it has pages or items).
  std::map<std::string, std::vector<v1::JobResult>> results;
  const bool paged = request->has_paging();
  bool failed = false;
  std::string line;
  auto on_result = [&](const v1::JobResult& row) {
    failed |= !IsSuccess(row.status());
    if (options.combine) {
      results[row.id()].push_back(row);
      return;
    }
    line.clear();
    AppendFetchRow(row, field_names, line);
    std::cout << line << std::flush;
  };
  while (reader->Read(&response)) {
    if (response.has_result()) on_result(response.result());
    if (response.has_results()) {
      for (const v1::JobResult& row : response.results().results()) on_result(row);
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpcError(status, options.connection.server);
  if (options.combine) {
    // {"ID": {fields...}, ..., "errors": {"ID": {"status":...,"http_status":...,"error":...}}}
    std::string out = "{";
    std::string errors;
    // With pages: "ID": [{fields of each row}, ...].
    for (const auto& [id, rows] : results) {
      const v1::JobResult& row = rows.back();
      if (row.status() == v1::JOB_STATUS_OK) {
        if (out.size() > 1) out.push_back(',');
        common::AppendJsonString(id, out);
        out.push_back(':');
        if (paged) out.push_back('[');
        for (size_t i = 0; i < rows.size(); ++i) {
          if (i > 0) out.push_back(',');
          AppendFieldsObject(rows[i], field_names, out);
        }
        if (paged) out.push_back(']');
      } else {
        errors.append(errors.empty() ? "" : ",");
        common::AppendJsonString(id, errors);
        absl::StrAppend(&errors, ":{\"status\":\"", common::JobStatusName(row.status()),
                        "\",\"http_status\":", row.http_status(), ",\"error\":");
        common::AppendJsonString(row.error(), errors);
        errors.push_back('}');
      }
    }
    if (!errors.empty()) absl::StrAppend(&out, out.size() > 1 ? "," : "", "\"errors\":{", errors, "}");
    out.append("}\n");
    std::cout << out << std::flush;
  }
  return failed ? kExitJobsFailed : kExitOk;
}

}  // namespace gather::client
