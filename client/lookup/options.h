// The flags of `gather lookup`, as parsed by client/main.cc. Plain data, no validation: see
// BuildLookupSpec and ResolveOutputs (client/lookup/spec.h).
#ifndef GATHER_CLIENT_LOOKUP_OPTIONS_H_
#define GATHER_CLIENT_LOOKUP_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/commands/common.h"

namespace gather::client {

struct LookupOptions {
  ConnectionOptions connection;
  std::string url_template;
  std::string keys = "-";
  std::string key_column;            // empty: one key per line
  std::string keys_format;           // "", "lines", "csv", "tsv", "jsonl" (client/lookup/key_source.h)
  std::vector<std::string> fields;   // "NAME=/pointer"
  std::vector<std::string> required; // "/pointer"
  std::vector<std::string> headers;  // "Name: value"
  std::string credential;            // a credential profile held by gatherd
  std::string method;
  std::string body;         // TEXT, or @FILE
  bool idempotent = false;  // POST and PATCH may be retried, hedged and coalesced
  PageFlags pages;  // LookupSpec.paging
  uint32_t concurrency = 0;
  double timeout_seconds = 0;
  double deadline_seconds = 0;
  uint64_t max_body_bytes = 0;
  std::string rate;           // requests per second to the host, "auto", or "" (none of its own)
  uint32_t burst = 0;
  uint32_t max_attempts = 0;  // 0: the server's default (3)
  bool no_coalesce = false;   // fetch identical keys separately
  std::string hedge;          // "", "auto", or milliseconds
  std::string format;  // "jsonl", "csv", or "" (csv when --out ends in .csv)
  std::string out = "-";
  std::string errors;  // "" : see ResolveOutputs
  bool resume = false;
  std::string redo;  // with resume: statuses whose rows are fetched again (client/lookup/redo.h)
  std::vector<std::string> command_line;  // argv, for the summary's redo command
  bool progress = false;
  bool quiet = false;
  uint32_t keys_per_message = 1000;
  uint32_t shards = 0;    // 0: one per server address
  uint32_t retries = 8;   // reconnects in a row without a new row before giving up
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_OPTIONS_H_
