// Scoring a JSON body: values at a pointer, folded by a row reducer and an across-rows reducer.
// Pure functions; callers own the simdjson parser (one per thread, reused across bodies).
#ifndef GATHER_SERVICE_EXTRACT_SCORE_H_
#define GATHER_SERVICE_EXTRACT_SCORE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include <string_view>

#include "absl/status/statusor.h"
#include "common/reducer.h"
#include "service/extract/json_pointer.h"
#include "simdjson.h"

namespace gather::extract {

using common::Reducer;

// Folds a sequence of numbers with one reducer. Empty() until the first Add().
class Accumulator {
 public:
  explicit Accumulator(Reducer reducer) : reducer_(reducer) {}
  void Add(double value);
  bool Empty() const { return count_ == 0; }
  // The folded value; only meaningful when !Empty().
  double Result() const;

 private:
  Reducer reducer_;
  uint64_t count_ = 0;
  double sum_ = 0;
  double min_ = 0;
  double max_ = 0;
  double last_ = 0;
};

struct ScoreSpec {
  JsonPointer values;
  uint32_t skip_columns = 0;
  Reducer row_reducer = Reducer::kMean;
  Reducer across_reducer = Reducer::kMean;
};

enum class ScoreStatus { kOk, kMissing, kBadContent };

struct ScoreOutcome {
  ScoreStatus status = ScoreStatus::kBadContent;
  double score = 0;
  std::string error;  // empty when kOk
};

// Scores `body` (see ScoreSpec in gather.proto for the rules). The padded view must stay valid
// for the call. Never throws.
ScoreOutcome ScoreJson(simdjson::ondemand::parser& parser, simdjson::padded_string_view body,
                       const ScoreSpec& spec);

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_SCORE_H_
