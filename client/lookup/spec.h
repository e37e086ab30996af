// What `gather lookup` asks for and where its rows go, from the flags: pure functions (no I/O),
// used by client/commands/lookup.cc before anything is opened.
#ifndef GATHER_CLIENT_LOOKUP_SPEC_H_
#define GATHER_CLIENT_LOOKUP_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/lookup/key_source.h"
#include "client/lookup/options.h"
#include "client/lookup/row_format.h"
#include "gather/v1/gather.pb.h"

namespace gather::client {

// Builds the spec from the flags; INVALID_ARGUMENT names the flag. `field_names` gets the column
// names in order.
// Reads --body @FILE.
absl::StatusOr<v1::LookupSpec> BuildLookupSpec(const LookupOptions& options,
                                               std::vector<std::string>* field_names);

// The placeholders the requests use (URL, body, header values), each once, in order.
std::vector<std::string> PlaceholderNames(const v1::LookupSpec& spec);

// How --keys is read. --keys-format wins; --key-column means CSV with one key column; else a
// .csv, .tsv, .jsonl or .ndjson file gives rows when the requests use a placeholder other than
// {key}, and lines otherwise ({key} is then the whole line, as for any other file).
absl::StatusOr<KeysInput> ResolveKeysInput(const LookupOptions& options,
                                           const std::vector<std::string>& names);

// Every placeholder must be a column of the keys: of `header` for CSV and TSV rows, "key" for
// plain keys. INVALID_ARGUMENT names the placeholder (JSONL rows are checked row by row).
absl::Status CheckPlaceholders(const KeysInput& input, const std::vector<std::string>& header,
                               const std::vector<std::string>& names);

// Where rows go. JSONL: every row to `out` unless --errors is given. CSV: OK rows to `out`, the
// others to --errors, by default next to `out` ("res.csv" -> "res.errors.csv"); with CSV on
// stdout and no --errors, failures are reported on stderr.
struct OutputPlan {
  OutputFormat format = OutputFormat::kJsonl;
  std::string out;
  std::string errors;           // "" : non-OK rows go to `out` (JSONL) or stderr (CSV)
};
absl::StatusOr<OutputPlan> ResolveOutputs(const LookupOptions& options);

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_SPEC_H_
