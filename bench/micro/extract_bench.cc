// Per-body costs of the extraction path: simdjson On-Demand field extraction and scoring (what
// gatherd runs per answer), with nlohmann parse + lookups beside them for reference.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "service/extract/fields.h"
#include "service/extract/score.h"

namespace gather::extract {
namespace {

const std::string kEntity =
    R"({"id":"123456","label":"Entity 123456, a synthetic record of the benchmark API",)"
    R"("description":"Served by the local nginx upstream for load tests. Lorem ipsum dolor sit amet, )"
    R"(consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna.",)"
    R"("location":{"geoLabel":"Zentralbibliothek Zuerich, Zaehringerplatz 6, 8001 Zuerich",)"
    R"("streetAddress":"Zaehringerplatz 6","cityLabel":"Zuerich","postalCode":"8001",)"
    R"("countryLabel":"Switzerland","latitude":47.374167,"longitude":8.544722},)"
    R"("type":"library","modified":"2024-01-01T00:00:00Z","tags":["bench","entity","loopback"]})";

const char* const kPointers[] = {"/label", "/location/geoLabel", "/location/streetAddress",
                                 "/location/cityLabel", "/location/postalCode",
                                 "/location/countryLabel", "/location/latitude",
                                 "/location/longitude", "/type"};

std::vector<FieldSpec> Fields() {
  std::vector<FieldSpec> fields;
  for (const char* pointer : kPointers) {
    fields.push_back(FieldSpec{pointer, *common::ParseJsonPointer(pointer)});
  }
  return fields;
}

void BM_ExtractNineFields(benchmark::State& state) {
  simdjson::ondemand::parser parser;
  std::vector<FieldSpec> fields = Fields();
  std::vector<JsonPointer> required{*common::ParseJsonPointer("/location")};
  std::string body = kEntity;
  ExtractOutcome out;
  for (auto _ : state) {
    ExtractFields(parser, PadForParse(body), fields, required, out);
    benchmark::DoNotOptimize(out.values.data());
  }
  if (out.status != ExtractStatus::kOk) state.SkipWithError("extraction failed");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ExtractNineFields);

void BM_NlohmannNineFieldsForReference(benchmark::State& state) {
  std::vector<nlohmann::json::json_pointer> pointers;
  for (const char* pointer : kPointers) pointers.emplace_back(pointer);
  std::vector<std::string> values(pointers.size());
  for (auto _ : state) {
    nlohmann::json doc = nlohmann::json::parse(kEntity);
    for (size_t i = 0; i < pointers.size(); ++i) values[i] = doc.at(pointers[i]).dump();
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NlohmannNineFieldsForReference);

void BM_ScoreNetdataChart(benchmark::State& state) {
  std::string body = R"({"labels":["time","user","system","nice"],"data":[)";
  for (int row = 0; row < state.range(0); ++row) {
    if (row > 0) body += ",";
    // StrAppend, not chained operator+: GCC 12 at -O3 reports a false -Wrestrict on the latter.
    absl::StrAppend(&body, "[", 1700000000 - row, ",", row % 97, ".25,null,", row % 13, ".5]");
  }
  body += "]}";
  simdjson::ondemand::parser parser;
  ScoreSpec spec;
  spec.values = *common::ParseJsonPointer("/data");
  spec.skip_columns = 1;
  spec.row_reducer = Reducer::kMean;
  spec.across_reducer = Reducer::kMean;
  for (auto _ : state) {
    ScoreOutcome outcome = ScoreJson(parser, PadForParse(body), spec);
    benchmark::DoNotOptimize(outcome.score);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScoreNetdataChart)->Arg(5)->Arg(60);

}  // namespace
}  // namespace gather::extract
