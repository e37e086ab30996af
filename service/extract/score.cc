#include "service/extract/score.h"

#include <cmath>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace gather::extract {
namespace {

using simdjson::ondemand::json_type;

// Folds the numbers of one row (an array) into `row`, skipping the first `skip` entries and
// nulls. Returns an error text for a value that is neither a number nor null.
std::string FoldRow(simdjson::ondemand::array row_array, uint32_t skip, Accumulator& row) {
  uint32_t index = 0;
  for (auto element : row_array) {
    simdjson::ondemand::value value;
    if (auto error = element.get(value); error) {
      return absl::StrCat("invalid JSON in row: ", simdjson::error_message(error));
    }
    if (index++ < skip) continue;
    json_type type;
    if (auto error = value.type().get(type); error) {
      return absl::StrCat("invalid JSON in row: ", simdjson::error_message(error));
    }
    if (type == json_type::null) continue;
    if (type != json_type::number) return "a value in a row is not a number or null";
    double number;
    if (auto error = value.get_double().get(number); error) {
      return absl::StrCat("bad number: ", simdjson::error_message(error));
    }
    row.Add(number);
  }
  return "";
}

}  // namespace

void Accumulator::Add(double value) {
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  ++count_;
  sum_ += value;
  last_ = value;
}

double Accumulator::Result() const {
  switch (reducer_) {
    case Reducer::kMean: return count_ == 0 ? 0 : sum_ / static_cast<double>(count_);
    case Reducer::kSum: return sum_;
    case Reducer::kMin: return min_;
    case Reducer::kMax: return max_;
    case Reducer::kLast: return last_;
    case Reducer::kCount: return static_cast<double>(count_);
  }
  return 0;
}

ScoreOutcome ScoreJson(simdjson::ondemand::parser& parser, simdjson::padded_string_view body,
                       const ScoreSpec& spec) {
  ScoreOutcome out;
  simdjson::ondemand::document doc;
  if (auto error = parser.iterate(body).get(doc); error) {
    out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
    return out;
  }
  // at_pointer("") cannot hand out a scalar document ("42") as a value: read it from the document.
  bool scalar_document = false;
  if (spec.values.text.empty()) {
    if (auto error = doc.is_scalar().get(scalar_document); error) {
      out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
      return out;
    }
  }
  simdjson::ondemand::value target;
  if (!scalar_document) {
    if (auto error = doc.at_pointer(spec.values.text).get(target); error) {
      if (ClassifyLookupError(error) == LookupStatus::kAbsent) {
        out.status = ScoreStatus::kMissing;
        out.error = absl::StrCat("no value at ", spec.values.text);
      } else {
        out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
      }
      return out;
    }
  }
  json_type type;
  if (auto error = scalar_document ? doc.type().get(type) : target.type().get(type); error) {
    out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
    return out;
  }
  Accumulator across(spec.across_reducer);
  switch (type) {
    case json_type::null:
      break;
    case json_type::number: {
      double number;
      auto error =
          scalar_document ? doc.get_double().get(number) : target.get_double().get(number);
      if (error) {
        out.error = absl::StrCat("bad number: ", simdjson::error_message(error));
        return out;
      }
      Accumulator row(spec.row_reducer);
      row.Add(number);
      across.Add(row.Result());
      break;
    }
    case json_type::array: {
      // Either one row of numbers, or an array of rows. Decided by the first non-null element.
      simdjson::ondemand::array outer;
      if (auto error = target.get_array().get(outer); error) {
        out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
        return out;
      }
      Accumulator flat_row(spec.row_reducer);  // used when the array is one row of numbers
      bool saw_rows = false, saw_numbers = false;
      uint32_t index = 0;
      for (auto element : outer) {
        simdjson::ondemand::value value;
        if (auto error = element.get(value); error) {
          out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
          return out;
        }
        json_type element_type;
        if (auto error = value.type().get(element_type); error) {
          out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
          return out;
        }
        if (element_type == json_type::array) {
          if (saw_numbers) {
            out.error = absl::StrCat("values at ", spec.values.text, " mix numbers and rows");
            return out;
          }
          saw_rows = true;
          simdjson::ondemand::array row_array;
          if (auto error = value.get_array().get(row_array); error) {
            out.error = absl::StrCat("body is not JSON: ", simdjson::error_message(error));
            return out;
          }
          Accumulator row(spec.row_reducer);
          if (std::string error = FoldRow(row_array, spec.skip_columns, row); !error.empty()) {
            out.error = std::move(error);
            return out;
          }
          if (!row.Empty()) across.Add(row.Result());
          continue;
        }
        // One flat row of numbers: skip_columns applies to it.
        if (saw_rows && element_type != json_type::null) {
          out.error = absl::StrCat("values at ", spec.values.text, " mix numbers and rows");
          return out;
        }
        if (index++ < spec.skip_columns) continue;
        if (element_type == json_type::null) continue;
        if (element_type != json_type::number) {
          out.error = absl::StrCat("a value at ", spec.values.text, " is not a number or null");
          return out;
        }
        saw_numbers = true;
        double number;
        if (auto error = value.get_double().get(number); error) {
          out.error = absl::StrCat("bad number: ", simdjson::error_message(error));
          return out;
        }
        flat_row.Add(number);
      }
      if (!flat_row.Empty()) across.Add(flat_row.Result());
      break;
    }
    default:
      out.error = absl::StrCat("value at ", spec.values.text, " is not a number or an array");
      return out;
  }
  if (across.Empty()) {
    out.status = ScoreStatus::kMissing;
    out.error = absl::StrCat("no numeric values at ", spec.values.text);
    return out;
  }
  out.score = across.Result();
  if (!std::isfinite(out.score)) {
    // Sums that overflow (or +inf and -inf together) cannot be ranked: NaN has no order.
    out.error = absl::StrCat("the score of the values at ", spec.values.text,
                             " is not a finite number");
    return out;  // kBadContent
  }
  out.status = ScoreStatus::kOk;
  return out;
}

}  // namespace gather::extract
