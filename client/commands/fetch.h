// `gather fetch`: a handful of named URLs fetched at once (FetchAndRank with fields and no score),
// each answer's fields printed as a JSON line keyed by its name, or all of them combined into one
// JSON object (--combine).
#ifndef GATHER_CLIENT_COMMANDS_FETCH_H_
#define GATHER_CLIENT_COMMANDS_FETCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/commands/common.h"
#include "gather/v1/gather.pb.h"

namespace gather::client {

struct FetchOptions {
  ConnectionOptions connection;
  std::vector<std::string> jobs;      // "ID=URL" or "URL"
  std::string urls_file;              // lines of "ID=URL", "ID URL" or "URL"
  std::vector<std::string> fields;    // "NAME=/pointer"
  std::vector<std::string> required;  // "/pointer"
  std::vector<std::string> headers;   // "Name: value"
  std::string credential;
  std::string method;
  std::string body;  // TEXT or @FILE
  bool idempotent = false;
  bool combine = false;
  PageFlags pages;  // FetchAndRankRequest.paging
  uint32_t concurrency = 0;
  double timeout_seconds = 0;
  double deadline_seconds = 0;
  double rate = 0;
  uint32_t max_attempts = 0;
};

// Builds the request; INVALID_ARGUMENT names the flag at fault. `field_names` gets the fields in
// order. Reads --urls and --body @FILE.
absl::StatusOr<v1::FetchAndRankRequest> BuildFetchRequest(const FetchOptions& options,
                                                          std::vector<std::string>* field_names);

// {"id":...,"url":...,"status":...,"http_status":...,"fields":{...},"attempts":...,
//  "latency_ms":...} (and "error" when the job did not end OK), with '\n'. Rows of a job with
// pages have "page", "item" and "more" (all but its last row) after "url".
void AppendFetchRow(const v1::JobResult& row, const std::vector<std::string>& field_names,
                    std::string& out);

// The hosts the request names (job URLs), each once, for a private
// gatherd's egress; empty when the flags do not make a request.
std::vector<std::string> FetchHosts(const FetchOptions& options);

// Runs the call; JSON lines as jobs complete, or one object at the end with --combine. Returns an
// exit code (common.h): 1 when a job failed.
int RunFetch(const FetchOptions& options);

}  // namespace gather::client

#endif  // GATHER_CLIENT_COMMANDS_FETCH_H_
