#include "common/reducer.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gather::common {

absl::StatusOr<Reducer> ParseReducer(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "mean" || lower == "avg" || lower == "average") return Reducer::kMean;
  if (lower == "sum") return Reducer::kSum;
  if (lower == "min") return Reducer::kMin;
  if (lower == "max") return Reducer::kMax;
  if (lower == "last") return Reducer::kLast;
  if (lower == "count") return Reducer::kCount;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown reducer \"", name, "\" (want mean|sum|min|max|last|count)"));
}

absl::string_view ReducerName(Reducer reducer) {
  switch (reducer) {
    case Reducer::kMean: return "mean";
    case Reducer::kSum: return "sum";
    case Reducer::kMin: return "min";
    case Reducer::kMax: return "max";
    case Reducer::kLast: return "last";
    case Reducer::kCount: return "count";
  }
  return "?";
}

}  // namespace gather::common
