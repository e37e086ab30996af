// Per-row costs of the result path: protobuf serialization and parsing of a 100-row result batch
// (server and client side of the stream) and the CLI's JSONL and CSV writers.
#include <string>

#include "benchmark/benchmark.h"
#include "client/lookup/row_format.h"
#include "gather/v1/gather.pb.h"

namespace gather {
namespace {

constexpr int kRows = 100;

void FillRow(v1::LookupResult* row, int i) {
  row->set_seq(static_cast<uint64_t>(i));
  row->set_key(std::to_string(100000 + i));
  row->set_status(v1::JOB_STATUS_OK);
  row->set_http_status(200);
  row->add_values("\"Entity 123456, a synthetic record of the benchmark API\"");
  row->add_values("\"Zentralbibliothek Zuerich, Zaehringerplatz 6, 8001 Zuerich\"");
  row->add_values("\"Zaehringerplatz 6\"");
  row->add_values("\"Zuerich\"");
  row->add_values("\"8001\"");
  row->add_values("\"Switzerland\"");
  row->add_values("47.374167");
  row->add_values("8.544722");
  row->add_values("\"library\"");
  row->set_attempts(1);
  row->set_latency_ms(3.25);
  row->set_queue_ms(0.5);
  row->set_bytes(640);
}

v1::BatchLookupResponse Batch() {
  v1::BatchLookupResponse response;
  for (int i = 0; i < kRows; ++i) FillRow(response.mutable_results()->add_results(), i);
  return response;
}

// Server side: fill a reused message (Clear keeps the rows) and serialize it.
void BM_FillAndSerializeBatchPerRow(benchmark::State& state) {
  v1::BatchLookupResponse response;
  std::string wire;
  for (auto _ : state) {
    response.mutable_results()->mutable_results()->Clear();
    for (int i = 0; i < kRows; ++i) FillRow(response.mutable_results()->add_results(), i);
    wire.clear();
    response.SerializeToString(&wire);
    benchmark::DoNotOptimize(wire.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_FillAndSerializeBatchPerRow);

// Client side: parse a batch.
void BM_ParseBatchPerRow(benchmark::State& state) {
  std::string wire = Batch().SerializeAsString();
  v1::BatchLookupResponse response;
  for (auto _ : state) {
    response.ParseFromString(wire);
    benchmark::DoNotOptimize(response.results().results_size());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_ParseBatchPerRow);

const std::vector<std::string> kNames = {"label", "geo", "street", "city", "postal",
                                         "country", "lat", "lon", "type"};

void BM_JsonlRow(benchmark::State& state) {
  v1::BatchLookupResponse batch = Batch();
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const auto& row : batch.results().results()) client::AppendJsonlRow(row, kNames, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_JsonlRow);

void BM_CsvRow(benchmark::State& state) {
  v1::BatchLookupResponse batch = Batch();
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const auto& row : batch.results().results()) client::AppendCsvRow(row, kNames.size(), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_CsvRow);

}  // namespace
}  // namespace gather
