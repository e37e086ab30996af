// How a score folds numbers (mean, sum, min, max, last, count), and the names the CLI and the API
// give them. Pure; the folding itself is gatherd's (extract/score.h).
#ifndef GATHER_COMMON_REDUCER_H_
#define GATHER_COMMON_REDUCER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gather::common {

enum class Reducer { kMean, kSum, kMin, kMax, kLast, kCount };

// Parses "mean" (also "avg", "average"), "sum", "min", "max", "last", "count" (case-insensitive).
absl::StatusOr<Reducer> ParseReducer(absl::string_view name);
absl::string_view ReducerName(Reducer reducer);

}  // namespace gather::common

#endif  // GATHER_COMMON_REDUCER_H_
