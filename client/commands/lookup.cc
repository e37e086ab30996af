#include "client/commands/lookup.h"

#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/commands/common.h"
#include "client/io/output_file.h"
#include "client/lookup/grpc_transport.h"
#include "client/lookup/key_source.h"
#include "client/lookup/redo.h"
#include "client/lookup/resume.h"
#include "client/lookup/row_sink.h"
#include "client/lookup/sharded_run.h"
#include "client/lookup/shards.h"
#include "client/output/progress.h"
#include "grpcpp/support/status.h"

namespace gather::client {
namespace {

constexpr uint32_t kMaxShards = 1024;

// The gRPC status ReportRpcError() reads, from a stream's (same code and message).
grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace

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
  auto targets = ParseServerList(options.connection.server);
  if (!targets.ok()) {
    std::cerr << "gather lookup: " << targets.status().message() << "\n";
    return kExitUsage;
  }
  if (options.keys_per_message == 0) {
    std::cerr << "gather lookup: --keys-per-message must be positive\n";
    return kExitUsage;
  }
  const OutputFormat format = outputs->format;
  const bool csv = format == OutputFormat::kCsv;
  const std::vector<std::string> names = PlaceholderNames(*spec);
  auto keys_input = ResolveKeysInput(options, names);
  if (!keys_input.ok()) {
    std::cerr << "gather lookup: " << keys_input.status().message() << "\n";
    return kExitUsage;
  }
  auto keys = KeySource::Open(*keys_input);
  if (!keys.ok()) {
    std::cerr << "gather lookup: " << keys.status().message() << "\n";
    return kExitUsage;
  }
  if (absl::Status status = CheckPlaceholders(*keys_input, (*keys)->header(), names);
      !status.ok()) {
    std::cerr << "gather lookup: " << status.message() << "\n";
    return kExitUsage;
  }
  // Rows: JSONL writes each row's object as its key; CSV writes the input's columns (CSV and
  // TSV: all of them; JSONL: the ones the requests use) before the fields.
  KeyLayout layout;
  layout.rows = keys_input->rows();
  if (layout.rows) layout.columns = (*keys)->header().empty() ? names : (*keys)->header();
  layout.paged = spec->has_paging();
  auto servers = ResolveServers(*targets);
  if (!servers.ok()) {
    std::cerr << "gather lookup: " << servers.status().message() << "\n";
    return kExitRpcFailed;
  }
  const uint32_t shards =
      options.shards > 0 ? options.shards : static_cast<uint32_t>(servers->size());
  if (shards > kMaxShards) {
    std::cerr << "gather lookup: --shards must be at most " << kMaxShards << "\n";
    return kExitUsage;
  }
  if (shards > 1 && options.keys == "-") {
    std::cerr << "gather lookup: --shards " << shards
              << " reads the keys once per shard: give --keys a file, not stdin\n";
    return kExitUsage;
  }
  SeqBitmap done;  // rows of earlier runs (--resume)
  GrpcLookupTransport transport(options.connection);
  ShardedRun run(options, *spec, *std::move(targets), *std::move(servers), done,
                 *std::move(keys), *keys_input, transport);
  if (absl::Status connected = run.Connect(); !connected.ok()) {
    std::cerr << "gather: " << connected.message() << "\n";
    return kExitUsage;
  }

  std::vector<std::string> csv_header{"seq"};
  if (layout.rows) {
    csv_header.insert(csv_header.end(), layout.columns.begin(), layout.columns.end());
  } else {
    csv_header.push_back("key");
  }
  if (layout.paged) csv_header.insert(csv_header.end(), {"page", "item"});
  csv_header.insert(csv_header.end(), field_names.begin(), field_names.end());
  const std::vector<std::string> csv_error_header{"seq",         "key",      "status",
                                                  "http_status", "attempts", "error"};

  // ---- resume: what earlier runs finished (less the rows to redo) ----
  bool out_has_header = false;
  bool errors_has_header = false;
  if (!options.redo.empty()) {
    if (!options.resume) {
      std::cerr << "gather lookup: --redo needs --resume (it fetches again keys an earlier run "
                   "wrote to --out/--errors)\n";
      return kExitUsage;
    }
    auto redo = ParseRedoStatuses(options.redo);
    if (!redo.ok()) {
      std::cerr << "gather lookup: " << redo.status().message() << "\n";
      return kExitUsage;
    }
    for (int which = 0; which < 2; ++which) {
      const std::string& path = which == 0 ? outputs->out : outputs->errors;
      if (path.empty() || path == "-") continue;
      auto dropped = DropRowsToRedo(path, format, /*errors_csv=*/which == 1 && csv, *redo);
      if (!dropped.ok()) {
        std::cerr << "gather lookup: " << dropped.status().message() << "\n";
        return kExitUsage;
      }
      if (!options.quiet && dropped->dropped > 0) {
        std::cerr << "gather lookup: --redo: took " << dropped->dropped << " rows ("
                  << options.redo << ") out of " << path << "; fetching their keys again\n";
      }
    }
  }
  if (options.resume) {
    for (int which = 0; which < 2; ++which) {
      const std::string& path = which == 0 ? outputs->out : outputs->errors;
      if (path.empty()) continue;
      const bool errors_csv = which == 1 && csv;
      // Paged: a key has several rows, and the last key in a file may be cut inside them.
      auto scan = ScanOutput(path, format, errors_csv ? csv_error_header : csv_header, done,
                             /*dry_run=*/false, /*keys_whole=*/layout.paged);
      if (!scan.ok()) {
        std::cerr << "gather lookup: " << scan.status().message() << "\n";
        return kExitUsage;
      }
      (which == 0 ? out_has_header : errors_has_header) = scan->has_header;
      if (!options.quiet) {
        std::cerr << "gather lookup: resuming: " << scan->rows << " rows in " << path;
        if (scan->torn_bytes > 0) {
          std::cerr << (layout.paged ? " (cut the last key's rows, to fetch it again whole: "
                                     : " (cut a torn last line of ")
                    << scan->torn_bytes << " bytes)";
        }
        if (scan->duplicates > 0) std::cerr << " (" << scan->duplicates << " duplicate rows)";
        std::cerr << "\n";
      }
    }
  }

  OutputFile out(outputs->out, options.resume);
  std::optional<OutputFile> errors_file;
  if (!outputs->errors.empty()) errors_file.emplace(outputs->errors, options.resume);
  if (csv && !out_has_header) AppendCsvHeader(field_names, out.buffer(), layout);
  if (csv && errors_file && !errors_has_header) AppendCsvErrorHeader(errors_file->buffer());

  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  const bool show_progress = (terminal && !options.quiet) || options.progress;
  std::optional<uint64_t> total;
  if (show_progress) total = KeySource::Count(*keys_input);
  Progress progress(show_progress, terminal, total, done.count(), start);

  // ---- the calls: one stream per shard, each on its own thread ----
  RowSink sink(format, options.quiet, field_names, out, errors_file ? &*errors_file : nullptr,
               progress, layout);
  run.Run(shards, sink);
  const absl::Time end = absl::Now();
  sink.Finish(end);

  const std::optional<absl::Status>& fatal = run.fatal();
  if (fatal && sink.rows() == 0) {
    // Nothing was fetched (refused request, server unreachable): leave no output behind.
    int code = ReportRpcError(ToGrpc(*fatal), options.connection.server);
    if (code != kExitUsage && outputs->out != "-") {
      std::cerr << "gather lookup: no rows were written; rerun the same command"
                << (options.resume ? "" : " (add --resume if earlier runs wrote rows)") << "\n";
    }
    return code;
  }
  sink.Flush(end, /*force=*/true);
  if (!sink.write_error().ok()) {
    std::cerr << "gather lookup: " << sink.write_error().message() << "\n";
    return kExitRpcFailed;
  }
  if (!run.read_error().ok()) {
    std::cerr << "gather lookup: reading --keys: " << run.read_error().message() << "\n";
    return kExitRpcFailed;
  }

  const bool all_rows = run.complete();
  if (!options.quiet || !all_rows) {
    double seconds = absl::ToDoubleSeconds(end - start);
    std::cerr << "gather lookup: " << sink.rows() << (layout.paged ? " keys" : " rows") << " in "
              << absl::StrFormat("%.1f", seconds)
              << " s ("
              << absl::StrFormat("%.0f", seconds > 0 ? static_cast<double>(sink.rows()) / seconds
                                                     : 0.0)
              << "/s)";
    const char* separator = ": ";
    for (int s = 0; s < v1::JobStatus_ARRAYSIZE; ++s) {
      if (sink.counts()[s] == 0) continue;
      std::cerr << separator << StatusName(static_cast<v1::JobStatus>(s)) << " "
                << sink.counts()[s];
      separator = ", ";
    }
    if (run.skipped() > 0) std::cerr << "; " << run.skipped() << " done earlier";
    if (double rate = run.rate(); rate > 0) {
      std::cerr << "; rate " << absl::StrFormat("%.0f", rate) << "/s"
                << (options.rate == "auto" ? " (found)" : "");
    }
    if (run.reconnects() > 0) std::cerr << "; " << run.reconnects() << " reconnects";
    if (auto left = run.quota_left()) std::cerr << "; quota left " << *left;
    std::cerr << "\n";
    if (run.keys_waited() > 0) {
      std::cerr << "gather lookup: the retries of " << run.keys_waited()
                << " keys waited for the retry budget (the upstream failed more often than it "
                   "allows to retry at once), "
                << absl::StrFormat("%.1f", absl::ToDoubleSeconds(run.retry_wait()) /
                                               static_cast<double>(run.keys_waited()))
                << " s on average\n";
    }
    if (layout.paged) {
      std::cerr << "gather lookup: " << sink.written_rows() << " rows written";
      if (sink.keys_cut() > 0) {
        std::cerr << "; " << sink.keys_cut()
                  << " keys had more pages than --max-pages (their last row says pages_cut)";
      }
      std::cerr << "\n";
    }
    if (run.servers_used() > 1 || shards > 1) {
      std::cerr << "gather lookup: " << shards << " shards; rows by server:";
      for (const auto& [server, count] : sink.rows_by_server()) {
        std::cerr << " " << server << " " << count;
      }
      std::cerr << "\n";
    }
    if (sink.failed() > 0 && errors_file) {
      std::cerr << "gather lookup: keys that did not end OK are in " << errors_file->path() << "\n";
    }
    if (std::string list = RedoListOf(sink.counts().data(), v1::JobStatus_ARRAYSIZE);
        !list.empty() && all_rows && outputs->out != "-" && !options.command_line.empty()) {
      std::cerr << "gather lookup: to fetch the keys that failed again:\n  "
                << RedoCommand(options.command_line, list) << "\n";
    }
    if (sink.duplicates() > 0) {
      std::cerr << "gather lookup: warning: the server sent " << sink.duplicates()
                << " rows twice; each was written once\n";
    }
  }
  if (!all_rows) {
    const uint64_t expected = run.expected();
    uint64_t missing = expected > sink.rows() ? expected - sink.rows() : 0;
    if (fatal) {
      ReportRpcError(ToGrpc(*fatal), options.connection.server);
    } else if (sink.cancelled() > 0) {
      std::cerr << "gather lookup: the server cancelled " << sink.cancelled()
                << " keys (shutting down)\n";
    }
    std::cerr << "gather lookup: stopped after " << sink.rows() << " of "
              << (run.input_complete() ? absl::StrCat(expected)
                                       : absl::StrCat("at least ", expected))
              << " keys (" << missing << " without a final row)";
    if (!outputs->out.empty() && outputs->out != "-") {
      std::cerr << "; rerun with --resume to fetch the rest";
    }
    std::cerr << "\n";
    return fatal && fatal->code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                          : kExitRpcFailed;
  }
  return sink.failed() > 0 ? kExitJobsFailed : kExitOk;
}

}  // namespace gather::client
