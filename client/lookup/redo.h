// `gather lookup --resume --redo STATUSES`: a second pass over the keys whose last outcome was a
// failure of the given kinds. Their rows are taken out of the earlier run's files (rewritten in
// place, atomically: a new file renamed over the old), so the resume scan that follows does not
// count them as done and the run fetches exactly them again, appending their new rows.
#ifndef GATHER_CLIENT_LOOKUP_REDO_H_
#define GATHER_CLIENT_LOOKUP_REDO_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/lookup/row_format.h"
#include "gather/v1/gather.pb.h"

namespace gather::client {

// Which statuses a second pass fetches again, indexed by JobStatus.
using StatusSet = std::array<bool, v1::JobStatus_ARRAYSIZE>;

// "HTTP_ERROR,TIMEOUT" (names as the output prints them, any case; "failed" for every status but
// OK and MISSING). INVALID_ARGUMENT naming --redo for an unknown name, OK, or CANCELLED (never
// written: a cancelled key is fetched again by --resume alone).
absl::StatusOr<StatusSet> ParseRedoStatuses(absl::string_view list);

// The statuses of `counts` (indexed by JobStatus) that a second pass would fetch again: every
// one with keys but OK and MISSING, as a --redo value ("" when none).
std::string RedoListOf(const uint64_t* counts, int size);

struct RedoResult {
  uint64_t kept = 0;     // rows left in the file
  uint64_t dropped = 0;  // rows taken out: their keys are fetched again
};

// Rewrites `path`, an output file of `gather lookup` in `format` (`errors_csv`: the CSV errors
// file, whose third column is the status; a CSV --out holds only OK rows and is left alone),
// without the rows whose status is in `redo`. A missing file is empty. A torn last record is
// kept as it is (the resume scan repairs it). INVALID_ARGUMENT when a record is not gather
// output; the file is then unchanged.
absl::StatusOr<RedoResult> DropRowsToRedo(const std::string& path, OutputFormat format,
                                          bool errors_csv, const StatusSet& redo);

// A shell command line that runs `argv` again (words quoted where the shell needs it), with any
// --resume and --redo removed and "--resume --redo LIST" appended.
std::string RedoCommand(const std::vector<std::string>& argv, absl::string_view list);

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_REDO_H_
