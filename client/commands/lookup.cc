#include "client/commands/lookup.h"

#include <unistd.h>

#include <array>
#include <cmath>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/commands/common.h"
#include "client/io/output_file.h"
#include "client/io/text.h"
#include "client/lookup/key_source.h"
#include "client/lookup/resume.h"
#include "client/output/progress.h"
#include "gather/v1/gather.grpc.pb.h"
#include "service/extract/json_pointer.h"
#include "service/extract/url_template.h"

namespace gather::client {
namespace {

// Keys longer than this are not sent (no URL can hold them); their line gets INVALID_KEY.
constexpr size_t kMaxKeyBytes = 1 << 20;
// A key message is sent when it holds keys_per_message keys or this many bytes.
constexpr size_t kMaxKeyMessageBytes = 1 << 20;

// Rows made by the CLI itself (keys that cannot be sent), handed from the sending thread to the
// thread that writes the output.
class LocalRows {
 public:
  void Add(uint64_t seq, std::string key, std::string error) {
    v1::LookupResult row;
    row.set_seq(seq);
    row.set_key(SanitizeUtf8(key));
    row.set_status(v1::JOB_STATUS_INVALID_KEY);
    row.set_error(std::move(error));
    std::lock_guard<std::mutex> lock(mu_);
    rows_.push_back(std::move(row));
  }
  std::vector<v1::LookupResult> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(rows_);
  }

 private:
  std::mutex mu_;
  std::vector<v1::LookupResult> rows_;
};

// What the sending thread reports when it is done.
struct SendOutcome {
  uint64_t sent = 0;       // keys sent to the server
  uint64_t local = 0;      // keys answered locally (INVALID_KEY)
  uint64_t skipped = 0;    // keys already done in an earlier run
  bool complete = false;   // every key was read and handed over (the stream was not broken)
  absl::Status read_error;
};

std::string DefaultErrorsPath(const std::string& out) {
  if (absl::EndsWith(out, ".csv")) return absl::StrCat(out.substr(0, out.size() - 4), ".errors.csv");
  return absl::StrCat(out, ".errors.csv");
}

}  // namespace

absl::StatusOr<v1::LookupSpec> BuildLookupSpec(const LookupOptions& options,
                                               std::vector<std::string>* field_names) {
  v1::LookupSpec spec;
  if (options.url_template.empty()) return absl::InvalidArgumentError("--template is required");
  if (auto parsed = extract::UrlTemplate::Parse(options.url_template); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--template: ", parsed.status().message()));
  }
  spec.set_url_template(options.url_template);
  spec.set_method(absl::AsciiStrToUpper(options.method));
  for (const std::string& text : options.fields) {
    size_t equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--field \"", text, "\": expected NAME=/json/pointer"));
    }
    std::string name = text.substr(0, equals);
    std::string pointer = text.substr(equals + 1);
    if (auto parsed = extract::ParseJsonPointer(pointer); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--field ", name, ": ", parsed.status().message()));
    }
    for (const std::string& existing : *field_names) {
      if (existing == name) {
        return absl::InvalidArgumentError(absl::StrCat("--field ", name, ": given twice"));
      }
    }
    if (name == "seq" || name == "key") {
      return absl::InvalidArgumentError(
          absl::StrCat("--field ", name, ": the name is taken by the output's own column"));
    }
    v1::Field* field = spec.add_fields();
    field->set_name(name);
    field->set_pointer(pointer);
    field_names->push_back(std::move(name));
  }
  for (const std::string& pointer : options.required) {
    if (auto parsed = extract::ParseJsonPointer(pointer); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--require \"", pointer, "\": ", parsed.status().message()));
    }
    spec.add_required(pointer);
  }
  for (const std::string& text : options.headers) {
    auto header = ParseHeaderFlag(text);
    if (!header.ok()) return header.status();
    *spec.add_headers() = *std::move(header);
  }
  spec.set_credential(options.credential);
  if (options.timeout_seconds < 0) return absl::InvalidArgumentError("--timeout must be >= 0");
  if (options.deadline_seconds < 0) return absl::InvalidArgumentError("--deadline must be >= 0");
  spec.mutable_policy()->set_concurrency(options.concurrency);
  spec.mutable_policy()->set_timeout_seconds(options.timeout_seconds);
  spec.mutable_policy()->set_max_body_bytes(options.max_body_bytes);
  if (options.rate == "auto") {
    spec.mutable_policy()->set_rate_auto(true);
  } else if (!options.rate.empty()) {
    double rate = 0;
    if (!absl::SimpleAtod(options.rate, &rate) || !(rate >= 0) || std::isinf(rate)) {
      return absl::InvalidArgumentError("--rate must be a number of requests per second or auto");
    }
    spec.mutable_policy()->set_rate(rate);
  }
  if (options.burst > 0 && options.rate.empty()) {
    return absl::InvalidArgumentError("--burst needs --rate");
  }
  spec.mutable_policy()->set_burst(options.burst);
  spec.mutable_policy()->set_max_attempts(options.max_attempts);
  spec.mutable_policy()->set_no_coalescing(options.no_coalesce);
  if (options.hedge == "auto") {
    spec.mutable_policy()->set_hedge_auto(true);
  } else if (!options.hedge.empty()) {
    double ms = 0;
    if (!absl::SimpleAtod(options.hedge, &ms) || !(ms > 0) || std::isinf(ms)) {
      return absl::InvalidArgumentError("--hedge must be a delay in milliseconds or auto");
    }
    spec.mutable_policy()->set_hedge_after_ms(ms);
  }
  return spec;
}

absl::StatusOr<OutputPlan> ResolveOutputs(const LookupOptions& options) {
  OutputPlan plan;
  std::string format = absl::AsciiStrToLower(options.format);
  if (format.empty()) format = absl::EndsWith(options.out, ".csv") ? "csv" : "jsonl";
  if (format == "jsonl") {
    plan.format = OutputFormat::kJsonl;
  } else if (format == "csv") {
    plan.format = OutputFormat::kCsv;
  } else {
    return absl::InvalidArgumentError("--format must be jsonl or csv");
  }
  plan.out = options.out.empty() ? "-" : options.out;
  plan.errors = options.errors;
  if (plan.errors.empty() && plan.format == OutputFormat::kCsv && plan.out != "-") {
    plan.errors = DefaultErrorsPath(plan.out);
  }
  if (!plan.errors.empty() && plan.errors == plan.out) {
    return absl::InvalidArgumentError("--errors must differ from --out");
  }
  if (options.resume && plan.out == "-") {
    return absl::InvalidArgumentError("--resume needs --out FILE (it reads what is already there)");
  }
  if (options.resume && plan.errors == "-") {
    return absl::InvalidArgumentError("--resume needs --errors to be a file");
  }
  return plan;
}

int RunLookup(const LookupOptions& options) {
  const absl::Time start = absl::Now();
  std::vector<std::string> field_names;
  auto spec = BuildLookupSpec(options, &field_names);
  if (!spec.ok()) {
    std::cerr << "gather lookup: " << spec.status().message() << "\n";
    return kExitUsage;
  }
  auto outputs = ResolveOutputs(options);
  if (!outputs.ok()) {
    std::cerr << "gather lookup: " << outputs.status().message() << "\n";
    return kExitUsage;
  }
  int connect_exit = kExitOk;
  std::optional<Connection> connection = ConnectOrReport(options.connection, &connect_exit);
  if (!connection) return connect_exit;
  if (options.keys_per_message == 0) {
    std::cerr << "gather lookup: --keys-per-message must be positive\n";
    return kExitUsage;
  }
  const OutputFormat format = outputs->format;
  const bool csv = format == OutputFormat::kCsv;
  std::optional<std::string> key_column;
  if (!options.key_column.empty()) key_column = options.key_column;
  auto keys = KeySource::Open(options.keys, key_column);
  if (!keys.ok()) {
    std::cerr << "gather lookup: " << keys.status().message() << "\n";
    return kExitUsage;
  }

  std::vector<std::string> csv_header{"seq", "key"};
  csv_header.insert(csv_header.end(), field_names.begin(), field_names.end());
  const std::vector<std::string> csv_error_header{"seq",         "key",      "status",
                                                  "http_status", "attempts", "error"};

  // ---- resume: what earlier runs finished ----
  SeqBitmap done;
  bool out_has_header = false;
  bool errors_has_header = false;
  if (options.resume) {
    for (int which = 0; which < 2; ++which) {
      const std::string& path = which == 0 ? outputs->out : outputs->errors;
      if (path.empty()) continue;
      const bool errors_csv = which == 1 && csv;
      auto scan = ScanOutput(path, format, errors_csv ? csv_error_header : csv_header, done);
      if (!scan.ok()) {
        std::cerr << "gather lookup: " << scan.status().message() << "\n";
        return kExitUsage;
      }
      (which == 0 ? out_has_header : errors_has_header) = scan->has_header;
      if (!options.quiet) {
        std::cerr << "gather lookup: resuming: " << scan->rows << " rows in " << path;
        if (scan->torn_bytes > 0) std::cerr << " (cut a torn last line of " << scan->torn_bytes << " bytes)";
        if (scan->duplicates > 0) std::cerr << " (" << scan->duplicates << " duplicate rows)";
        std::cerr << "\n";
      }
    }
  }

  OutputFile out(outputs->out, options.resume);
  std::optional<OutputFile> errors_file;
  if (!outputs->errors.empty()) errors_file.emplace(outputs->errors, options.resume);
  if (csv && !out_has_header) AppendCsvHeader(field_names, out.buffer());
  if (csv && errors_file && !errors_has_header) AppendCsvErrorHeader(errors_file->buffer());

  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const bool show_progress = (terminal && !options.quiet) || options.progress;
  std::optional<uint64_t> total;
  if (show_progress) total = KeySource::Count(options.keys, key_column);
  Progress progress(show_progress, terminal, total, done.count(), start);

  // ---- the call ----
  auto stub = v1::Gather::NewStub(connection->channel);
  grpc::ClientContext context;
  connection->Prepare(context);
  if (options.deadline_seconds > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(
                             static_cast<int64_t>(options.deadline_seconds * 1000)));
  }
  std::unique_ptr<grpc::ClientReaderWriter<v1::BatchLookupRequest, v1::BatchLookupResponse>>
      stream = stub->BatchLookup(&context);

  LocalRows local_rows;
  SendOutcome sent;
  std::thread sender([&] {
    v1::BatchLookupRequest message;
    *message.mutable_spec() = *spec;
    if (!stream->Write(message)) return;
    message.Clear();
    v1::KeyBatch* batch = message.mutable_keys();
    size_t batch_bytes = 0;
    uint64_t seq = 0;
    std::string key;
    bool broken = false;
    auto flush = [&] {
      if (batch->keys_size() == 0) return true;
      if (!stream->Write(message)) return false;
      batch->mutable_keys()->Clear();
      batch_bytes = 0;
      return true;
    };
    for (; (*keys)->Next(key); ++seq) {
      if (done.Test(seq)) {
        ++sent.skipped;
        continue;
      }
      if (key.size() > kMaxKeyBytes || !IsValidUtf8(key)) {
        local_rows.Add(seq, key.size() > kMaxKeyBytes ? key.substr(0, 64) : key,
                       key.size() > kMaxKeyBytes
                           ? absl::StrCat("key of ", key.size(), " bytes is too long")
                           : std::string("key is not valid UTF-8"));
        ++sent.local;
        continue;
      }
      v1::Key* entry = batch->add_keys();
      entry->set_seq(seq);
      batch_bytes += key.size() + 8;
      entry->set_key(std::move(key));
      ++sent.sent;
      if (batch->keys_size() >= static_cast<int>(options.keys_per_message) ||
          batch_bytes >= kMaxKeyMessageBytes) {
        if (!flush()) {
          broken = true;
          break;
        }
      }
    }
    if (!broken && !flush()) broken = true;
    sent.read_error = (*keys)->status();
    if (!broken && sent.read_error.ok()) {
      sent.complete = true;
      stream->WritesDone();
    }
  });

  // ---- the results ----
  SeqBitmap written;  // this run's rows: a row the server sent twice is written once
  std::array<uint64_t, v1::JobStatus_ARRAYSIZE> counts{};
  uint64_t rows = 0;
  uint64_t failed = 0;
  uint64_t cancelled = 0;
  uint64_t duplicates = 0;
  std::optional<v1::LookupSummary> summary;
  absl::Status write_error;

  auto write_row = [&](const v1::LookupResult& row) {
    if (row.status() == v1::JOB_STATUS_CANCELLED) {
      ++cancelled;  // not final: a resumed run fetches the key again
      return;
    }
    if (!written.Set(row.seq())) {
      ++duplicates;
      return;
    }
    ++rows;
    if (row.status() >= 0 && row.status() < v1::JobStatus_ARRAYSIZE) ++counts[row.status()];
    if (!IsSuccess(row.status())) ++failed;
    const bool ok = row.status() == v1::JOB_STATUS_OK;
    if (!csv) {
      OutputFile& target = ok || !errors_file ? out : *errors_file;
      AppendJsonlRow(row, field_names, target.buffer());
    } else if (ok) {
      AppendCsvRow(row, field_names.size(), out.buffer());
    } else if (errors_file) {
      AppendCsvErrorRow(row, errors_file->buffer());
    } else if (!IsSuccess(row.status()) || !options.quiet) {
      std::cerr << "gather lookup: seq " << row.seq() << ": " << StatusName(row.status())
                << (row.error().empty() ? "" : ": ") << row.error() << "\n";
    }
  };
  auto flush_outputs = [&](absl::Time now, bool force) {
    if (!write_error.ok()) return;
    absl::Status status = force ? out.Flush() : out.MaybeFlush(now);
    if (status.ok() && errors_file) status = force ? errors_file->Flush() : errors_file->MaybeFlush(now);
    if (!status.ok()) {
      write_error = status;
      context.TryCancel();  // no point fetching what cannot be written
    }
  };

  v1::BatchLookupResponse response;
  while (stream->Read(&response)) {
    if (response.has_results()) {
      for (const v1::LookupResult& row : response.results().results()) write_row(row);
    } else if (response.has_summary()) {
      summary = response.summary();
    }
    for (const v1::LookupResult& row : local_rows.Take()) write_row(row);
    absl::Time now = absl::Now();
    flush_outputs(now, false);
    progress.Update(rows, failed, now);
  }
  sender.join();
  grpc::Status status = stream->Finish();
  for (const v1::LookupResult& row : local_rows.Take()) write_row(row);
  const absl::Time end = absl::Now();
  progress.Finish(rows, failed, end);

  if (!status.ok() && rows == 0) {
    // Nothing was fetched (refused request, server unreachable): leave no output behind.
    int code = ReportRpcError(status, options.connection.server);
    if (code != kExitUsage && outputs->out != "-") {
      std::cerr << "gather lookup: no rows were written; rerun the same command"
                << (options.resume ? "" : " (add --resume if earlier runs wrote rows)") << "\n";
    }
    return code;
  }
  flush_outputs(end, true);
  if (!write_error.ok()) {
    std::cerr << "gather lookup: " << write_error.message() << "\n";
    return kExitRpcFailed;
  }
  if (!sent.read_error.ok()) {
    std::cerr << "gather lookup: reading --keys: " << sent.read_error.message() << "\n";
    return kExitRpcFailed;
  }

  const uint64_t expected = sent.sent + sent.local;
  const bool all_rows = status.ok() && sent.complete && rows == expected;
  if (!options.quiet || !all_rows) {
    double seconds = absl::ToDoubleSeconds(end - start);
    std::cerr << "gather lookup: " << rows << " rows in " << absl::StrFormat("%.1f", seconds)
              << " s (" << absl::StrFormat("%.0f", seconds > 0 ? static_cast<double>(rows) / seconds : 0.0) << "/s)";
    const char* separator = ": ";
    for (int s = 0; s < v1::JobStatus_ARRAYSIZE; ++s) {
      if (counts[s] == 0) continue;
      std::cerr << separator << StatusName(static_cast<v1::JobStatus>(s)) << " " << counts[s];
      separator = ", ";
    }
    if (sent.skipped > 0) std::cerr << "; " << sent.skipped << " done earlier";
    if (summary && summary->rate() > 0) {
      std::cerr << "; rate " << absl::StrFormat("%.0f", summary->rate()) << "/s"
                << (options.rate == "auto" ? " (found)" : "");
    }
    std::cerr << "\n";
    if (failed > 0 && errors_file) {
      std::cerr << "gather lookup: keys that did not end OK are in " << errors_file->path() << "\n";
    }
    if (duplicates > 0) {
      std::cerr << "gather lookup: warning: the server sent " << duplicates
                << " rows twice; each was written once\n";
    }
  }
  if (!all_rows) {
    uint64_t missing = expected > rows ? expected - rows : 0;
    if (!status.ok()) {
      ReportRpcError(status, options.connection.server);
    } else if (cancelled > 0) {
      std::cerr << "gather lookup: the server cancelled " << cancelled
                << " keys (shutting down)\n";
    }
    std::cerr << "gather lookup: stopped after " << rows << " of "
              << (sent.complete ? absl::StrCat(expected) : absl::StrCat("at least ", expected))
              << " keys (" << missing << " without a final row)";
    if (!outputs->out.empty() && outputs->out != "-") {
      std::cerr << "; rerun with --resume to fetch the rest";
    }
    std::cerr << "\n";
    return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage
                                                                       : kExitRpcFailed;
  }
  return failed > 0 ? kExitJobsFailed : kExitOk;
}

}  // namespace gather::client
