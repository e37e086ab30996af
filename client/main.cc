// gather: the command-line client of gatherd (gather.v1 over gRPC).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/commands/common.h"
#include "client/commands/fetch.h"
#include "client/commands/health.h"
#include "client/commands/lookup.h"
#include "client/commands/netdata.h"
#include "client/commands/rank.h"
#include "client/embedded/private_server.h"
#include "common/url.h"

namespace {

// --next-url, --next-token, --token-param, --items and --max-pages (gather lookup and fetch).
void AddPageFlags(CLI::App& app, gather::client::PageFlags& flags) {
  app.add_option("--next-url", flags.next_url,
                 "follow each key's (job's) pages: the JSON pointer of the next page's URL in the body\n"
                 "(absolute or relative; absent, null or \"\" on the last page), or 'link' for\n"
                 "the Link header's rel=\"next\"");
  app.add_option("--next-token", flags.next_token,
                 "follow each key's (job's) pages: the JSON pointer of a cursor in the body, sent back\n"
                 "as the --token-param query parameter of the key's URL");
  app.add_option("--token-param", flags.token_param,
                 "the query parameter that carries --next-token's cursor, e.g. pagetoken");
  app.add_option("--items", flags.items,
                 "JSON pointer of an array in each page: one row per element (with \"page\" and\n"
                 "\"item\"), fields and --require looked up in the element; \"\" when the page is\n"
                 "the array. Without it each page is one row");
  app.add_option("--max-pages", flags.max_pages,
                 "pages per key at most (default 100); a key with more ends OK with the rows of\n"
                 "these pages, its last row marked \"pages_cut\"");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gather::client;
  CLI::App app{
      "gather: fetch many HTTP URLs concurrently through gatherd, score or extract what comes\n"
      "back, and print the results.\n\n"
      "Exit codes: 0 every job OK or MISSING; 1 some jobs failed (results still written);\n"
      "2 usage or request error; 3 server unreachable or the RPC failed."};
  app.require_subcommand(1);
  app.fallthrough();  // the connection flags below may also follow the command's name
  ConnectionOptions connection;
  connection.server = DefaultServer();
  app.add_option("--server", connection.server,
                 "gatherd address HOST:PORT or unix:PATH (env GATHER_SERVER); lookup also takes a\n"
                 "list A,B,C or dns:///NAME:PORT (every address of the name, e.g. a headless\n"
                 "Service). Without it, gather starts a private gatherd for the run (the gatherd\n"
                 "next to gather, on PATH, or $GATHERD) on a private Unix socket, allowed to reach\n"
                 "the hosts this command names (also on localhost or the LAN) and no other\n"
                 "non-public address: a redirect or next page from an API to a private address is\n"
                 "refused. It stops with the run, however the run ends.");
  app.add_flag("--tls", connection.tls, "connect with TLS, trusting the system's CAs");
  app.add_option("--ca_file,--ca-file", connection.ca_file,
                 "PEM CA bundle that signed gatherd's certificate (turns TLS on)");
  app.add_option("--cert", connection.cert, "PEM client certificate for mTLS (with --key)");
  app.add_option("--key", connection.key, "PEM private key of --cert");
  app.add_option("--server-name,--server_name", connection.server_name,
                 "name to expect in gatherd's certificate (default: the --server host)");
  app.add_option("--token_file,--token-file", connection.token_file,
                 "file whose first line is the bearer token for gatherd (env GATHER_TOKEN_FILE,\n"
                 "or the token itself in GATHER_TOKEN); never printed");

  // ---- rank ----
  RankOptions rank;
  CLI::App* rank_cmd = app.add_subcommand(
      "rank", "Fetch URLs, score each from its JSON body, print the top N.\n"
              "Example: gather rank --pointer /data --skip-columns 1 URL1 URL2 ...");
  rank_cmd->add_option("urls", rank.urls, "URLs to fetch (or 'ID URL' pairs in --urls)");
  rank_cmd->add_option("--urls", rank.urls_file, "file with one 'URL' or 'ID URL' per line");
  rank_cmd->add_option("--index", rank.index_url, "discovery: URL of a JSON index listing the keys");
  rank_cmd->add_option("--keys", rank.keys_pointer, "discovery: JSON pointer to the keys (object or array) in the index");
  rank_cmd->add_option("--template", rank.url_template, "discovery: URL template with {key}");
  rank_cmd->add_option("--pointer", rank.values_pointer,
                       "JSON pointer to the values: a number, an array, or an array of rows")
      ->required();
  rank_cmd->add_option("--skip-columns", rank.skip_columns, "leading entries of each row to ignore (e.g. 1 for a time column)");
  rank_cmd->add_option("--row", rank.row_reducer, "reducer within a row: mean|sum|min|max|last|count")->capture_default_str();
  rank_cmd->add_option("--across", rank.across_reducer, "reducer across rows: mean|sum|min|max|last|count")->capture_default_str();
  rank_cmd->add_option("--top", rank.top, "entries in the ranking (0 = all)")->capture_default_str();
  rank_cmd->add_flag("--ascending", rank.ascending, "lowest score first");
  rank_cmd->add_option("--concurrency", rank.concurrency, "transfers in flight for this call (server default 50)");
  rank_cmd->add_option("--timeout", rank.timeout_seconds, "per-job timeout in seconds (server default 10)");
  rank_cmd->add_option("--deadline", rank.deadline_seconds, "deadline of the whole call in seconds (0 = none)");
  rank_cmd->add_option("--max-body", rank.max_body_bytes, "body cap in bytes (server default 8 MiB)");
  rank_cmd->add_option("--rate", rank.rate, "requests per second to each host (0 = no limit of its own)");
  rank_cmd->add_option("--burst", rank.burst, "requests allowed at once after a pause (default 10% of --rate)");
  rank_cmd->add_option("--max-attempts", rank.max_attempts, "transfers per job incl. retries (server default 3; 1 = no retries)");
  rank_cmd->add_option("--header", rank.headers, "request header 'Name: value' (repeatable; never printed)");
  rank_cmd->add_option("--credential", rank.credential,
                       "credential profile held by gatherd: its headers (API tokens) go with every request");
  rank_cmd->add_flag("--json", rank.json, "print JSON lines (rank, id, score, url) instead of a table");
  rank_cmd->add_flag("--quiet", rank.quiet, "no summary of statuses and failures on stderr");

  // ---- netdata ----
  NetdataOptions netdata;
  CLI::App* netdata_cmd = app.add_subcommand(
      "netdata", "Rank every chart of a netdata agent by its recent average: list /api/v1/charts,\n"
                 "fetch /api/v1/data for each chart concurrently, score = mean over rows of each\n"
                 "row's mean (time column and nulls skipped). Links go back to each chart in the\n"
                 "dashboard, over the same window.\n"
                 "Example (the URL as copied from the browser):\n"
                 "  gather netdata 'http://127.0.0.1:19999/#menu_system_submenu_cpu;after=-600000;before=0;theme=slate'");
  netdata_cmd->add_option("dashboard", netdata.dashboard,
                          "the dashboard URL as copied from the browser, e.g.\n"
                          "'http://127.0.0.1:19999/#menu_system_submenu_cpu;after=-600000;before=0'\n"
                          "(its after=/before= in milliseconds set the window)");
  netdata_cmd->add_option("--dashboard", netdata.dashboard, "the same URL, as a flag");
  netdata_cmd->add_option("--top", netdata.top, "charts to show (0 = all)")->capture_default_str();
  netdata_cmd->add_option("--points", netdata.points, "points per chart")->capture_default_str();
  netdata_cmd->add_option("--after", netdata.after,
                          "start, seconds relative to now (default: the URL's after=, else -600)");
  netdata_cmd->add_option("--before", netdata.before,
                          "end, seconds relative to now (default: the URL's before=, else 0)");
  netdata_cmd->add_option("--concurrency", netdata.concurrency, "charts fetched at once (server default 50)");
  netdata_cmd->add_option("--timeout", netdata.timeout_seconds, "per-chart timeout in seconds");
  netdata_cmd->add_option("--deadline", netdata.deadline_seconds, "deadline of the whole call in seconds (0 = none)");
  netdata_cmd->add_option("--rate", netdata.rate, "requests per second to the agent (0 = no limit)");
  netdata_cmd->add_option("--max-attempts", netdata.max_attempts, "transfers per chart incl. retries (server default 3)");
  netdata_cmd->add_option("--header", netdata.headers, "request header 'Name: value' (repeatable; never printed)");
  netdata_cmd->add_option("--credential", netdata.credential, "credential profile held by gatherd (see rank)");
  netdata_cmd->add_flag("--json", netdata.json, "print JSON lines instead of a table");

  // ---- fetch ----
  FetchOptions fetch;
  CLI::App* fetch_cmd = app.add_subcommand(
      "fetch",
      "Fetch a few named URLs at once and print named fields of each JSON answer: one JSON line\n"
      "per job as it completes, or with --combine one JSON object keyed by name.\n"
      "Example: gather fetch daily=https://api.example/stats/daily \\\n"
      "  hourly=https://api.example/stats/hourly --field total=/total --field max=/peak/value --combine");
  fetch_cmd->add_option("jobs", fetch.jobs, "ID=URL (or just URL, its own id)");
  fetch_cmd->add_option("--urls", fetch.urls_file, "file with one 'ID=URL', 'ID URL' or 'URL' per line");
  fetch_cmd->add_option("--field", fetch.fields, "NAME=/json/pointer to extract (repeatable; at least one)");
  fetch_cmd->add_option("--require", fetch.required, "JSON pointer that must be present, else the job is MISSING (repeatable)");
  fetch_cmd->add_option("--header", fetch.headers, "request header 'Name: value' (repeatable; never printed)");
  fetch_cmd->add_option("--credential", fetch.credential, "credential profile held by gatherd (see rank)");
  fetch_cmd->add_option("--method", fetch.method, "GET (default), HEAD, POST, PUT, PATCH or DELETE");
  fetch_cmd->add_option("--body", fetch.body, "request body sent with every job, or @FILE");
  fetch_cmd->add_flag("--idempotent", fetch.idempotent, "a POST or PATCH may be retried, hedged and shared");
  fetch_cmd->add_flag("--combine", fetch.combine,
                      "print one JSON object {ID: {fields}, ..., \"errors\": {ID: {status, error}}} at the end");
  AddPageFlags(*fetch_cmd, fetch.pages);
  fetch_cmd->add_option("--concurrency", fetch.concurrency, "transfers in flight (server default 50)");
  fetch_cmd->add_option("--timeout", fetch.timeout_seconds, "per-job timeout in seconds");
  fetch_cmd->add_option("--deadline", fetch.deadline_seconds, "deadline of the whole call in seconds (0 = none)");
  fetch_cmd->add_option("--rate", fetch.rate, "requests per second per host (0 = no limit)");
  fetch_cmd->add_option("--max-attempts", fetch.max_attempts, "transfers per job incl. retries (server default 3)");

  // ---- lookup ----
  LookupOptions lookup;
  CLI::App* lookup_cmd = app.add_subcommand(
      "lookup",
      "Look up many keys against one URL template, extract named fields from each JSON answer,\n"
      "and write one row per key (JSONL or CSV). Keys stream through gatherd's BatchLookup with\n"
      "bounded memory; --resume continues an interrupted run.\n"
      "Examples:\n"
      "  gather lookup --template 'https://api.example/v2/entities/{key}' --keys ids.txt \\\n"
      "    --field label=/label --field city=/location/cityLabel --require /location \\\n"
      "    --header 'Authorization: Bearer ...' --out entities.csv\n"
      "  # one Places search per CSV row (columns lat,lng,keyword,radius), 20 results per page:\n"
      "  gather lookup --keys places.csv --out places.jsonl --field results=/results \\\n"
      "    --template 'https://maps.example/nearbysearch/json?location={lat},{lng}&keyword={keyword}&radius={radius}'\n"
      "  # POST a JSON search per row, values JSON-escaped (\"{q}\" a string, {size} a number):\n"
      "  gather lookup --keys queries.jsonl --method POST --idempotent --out hits.jsonl \\\n"
      "    --template 'https://search.example/_search' --body '{\"query\": \"{q}\", \"size\": {size}}' \\\n"
      "    --field total=/hits/total");
  lookup_cmd->add_option("--template", lookup.url_template,
                 "URL with {key} (the whole line of a plain key file) or {NAME} (a column "
                 "of a CSV, TSV or JSONL row); values are percent-encoded into it")->required();
  lookup_cmd->add_option("--keys", lookup.keys,
                 "file with one key per line, a CSV/TSV with a header row, JSONL objects, "
                 "or a CSV with --key-column; - is stdin")
      ->capture_default_str();
  lookup_cmd->add_option("--key-column", lookup.key_column, "read --keys as CSV with a header row and take this column");
  lookup_cmd->add_option("--field", lookup.fields, "NAME=/json/pointer to extract (repeatable; columns in this order)");
  lookup_cmd->add_option("--require", lookup.required, "JSON pointer that must be present, else the key is MISSING (repeatable)");
  lookup_cmd->add_option("--header", lookup.headers, "request header 'Name: value' (repeatable; never printed)");
  lookup_cmd->add_option("--credential", lookup.credential,
                 "credential profile held by gatherd, e.g. places-api: its headers (API tokens)\n"
                 "go with every request, so this run need not carry the secret");
  lookup_cmd->add_option("--keys-format", lookup.keys_format,
                 "csv, tsv or jsonl: rows whose columns fill {NAME} placeholders (the "
                 "default for a .csv/.tsv/.jsonl file when a placeholder other than "
                 "{key} is used); lines: one key per line, {key}");
  lookup_cmd->add_option("--method", lookup.method, "GET (default), HEAD, POST, PUT, PATCH or DELETE");
  lookup_cmd->add_option("--body", lookup.body,
                 "request body with {NAME} placeholders, or @FILE; values are JSON-escaped "
                 "(write \"q\": \"{kw}\" for strings, \"n\": {n} for numbers) unless "
                 "a Content-Type --header says form or other");
  lookup_cmd->add_flag("--idempotent", lookup.idempotent,
                       "repeating a POST or PATCH is harmless: retry, hedge and coalesce it like "
                       "a GET (by default only refused connections, 429 and 503 with "
                       "Retry-After are retried)");
  AddPageFlags(*lookup_cmd, lookup.pages);
  lookup_cmd->add_option("--concurrency", lookup.concurrency, "transfers in flight for this run (server default 50)");
  lookup_cmd->add_option("--timeout", lookup.timeout_seconds, "per-key timeout in seconds, queue time excluded (server default 10)");
  lookup_cmd->add_option("--deadline", lookup.deadline_seconds, "deadline of the whole run in seconds (0 = none)");
  lookup_cmd->add_option("--max-body", lookup.max_body_bytes, "body cap in bytes (server default 8 MiB)");
  lookup_cmd->add_option("--rate", lookup.rate,
                 "requests per second to the host, shared with other runs against it, or 'auto'\n"
                 "to let gatherd find the API's limit (starts at 20/s, backs off on 429/503)");
  lookup_cmd->add_option("--burst", lookup.burst, "requests allowed at once after a pause (default 10% of --rate)");
  lookup_cmd->add_option("--max-attempts", lookup.max_attempts,
                 "transfers per key incl. retries of refused connections, 429, 502, 503, 504\n"
                 "(server default 3; 1 = no retries)");
  lookup_cmd->add_option("--hedge", lookup.hedge,
                 "after this many milliseconds without an answer, or 'auto' (the host's p95),\n"
                 "send a second identical request and take the first answer (costs a few % more requests)");
  lookup_cmd->add_flag("--no-coalesce", lookup.no_coalesce,
                       "fetch duplicate keys separately (by default identical requests share one fetch)");
  lookup_cmd->add_option("--format", lookup.format, "jsonl or csv (default: csv if --out ends in .csv, else jsonl)");
  lookup_cmd->add_option("--out", lookup.out, "output file, - for stdout")->capture_default_str();
  lookup_cmd->add_option("--errors", lookup.errors,
                 "file for keys that did not end OK (CSV default: next to --out, e.g. res.errors.csv;\n"
                 "JSONL default: every row goes to --out)");
  lookup_cmd->add_flag("--resume", lookup.resume,
                       "skip keys already in --out/--errors (by input line number) and append the rest");
  lookup_cmd->add_option("--redo", lookup.redo,
                 "with --resume: fetch again the keys whose row has one of these statuses\n"
                 "(e.g. HTTP_ERROR,TIMEOUT,RATE_LIMITED, or failed for all but OK and MISSING);\n"
                 "their rows leave --errors (rewritten) and the new rows are appended");
  lookup_cmd->add_flag("--progress", lookup.progress, "print progress on stderr even when it is not a terminal");
  lookup_cmd->add_flag("--quiet", lookup.quiet, "no progress and no summary on stderr");
  lookup_cmd->add_option("--shards", lookup.shards,
                 "split the keys (by a hash of the key) over this many streams, spread over the\n"
                 "--server list (default: one per server address; --rate is shared by them)");
  lookup_cmd->add_option("--retries", lookup.retries,
                 "when a stream breaks (server restart, rolling update, shutdown), reconnect with\n"
                 "backoff (0.5 s doubling to 30 s, next server first) and send the keys without a\n"
                 "row; give up after this many failures in a row without progress (0 = never reconnect)")
      ->capture_default_str();
  lookup_cmd->add_option("--keys-per-message", lookup.keys_per_message, "keys per gRPC message")
      ->capture_default_str()->group("");

  // ---- health ----
  HealthOptions health;
  CLI::App* health_cmd = app.add_subcommand("health", "Ask gatherd's grpc.health.v1 service; exit 0 when SERVING.");
  health_cmd->add_option("--service", health.service, "service name to check (default: the server)");
  health_cmd->add_option("--timeout", health.timeout_seconds, "seconds to wait")->capture_default_str();

  for (CLI::App* command : {rank_cmd, netdata_cmd, fetch_cmd, lookup_cmd, health_cmd}) {
    command->footer(
        "Connection (before or after the command): --server HOST:PORT, --tls, --ca_file FILE,\n"
        "--cert FILE --key FILE (mTLS), --server-name NAME, --token_file FILE (or GATHER_TOKEN).\n"
        "See gather --help.");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? 0 : kExitUsage;
  }
  ApplyConnectionEnvironment(connection);
  // No server named: a private gatherd for this run, open to the hosts the command names.
  std::shared_ptr<PrivateServer> private_server;
  if (connection.server.empty() && health_cmd->parsed()) connection.server = std::string(kDefaultServer);
  if (connection.server.empty()) {
    std::vector<std::string> hosts;
    if (rank_cmd->parsed()) hosts = RankHosts(rank);
    if (netdata_cmd->parsed()) hosts = {gather::common::HostOf(netdata.dashboard)};
    if (fetch_cmd->parsed()) hosts = FetchHosts(fetch);
    if (lookup_cmd->parsed()) hosts = {gather::common::HostOf(lookup.url_template)};
    auto gatherd = FindGatherd();
    if (gatherd.ok()) {
      auto started = PrivateServer::Start(*gatherd, hosts);
      if (started.ok()) {
        private_server = *std::move(started);
        PrivateServer::StopOnSignals(private_server);
      } else {
        gatherd = started.status();
      }
    }
    if (!gatherd.ok()) {
      std::cerr << "gather: no --server given, and a private gatherd could not be started: "
                << gatherd.status().message() << "\n";
      return kExitRpcFailed;
    }
    connection.server = private_server->address();
  }
  auto run = [&]() -> int {
    if (rank_cmd->parsed()) {
      rank.connection = connection;
      return RunRank(rank);
    }
    if (netdata_cmd->parsed()) {
      netdata.connection = connection;
      return RunNetdata(netdata);
    }
    if (fetch_cmd->parsed()) {
      fetch.connection = connection;
      return RunFetch(fetch);
    }
    if (lookup_cmd->parsed()) {
      lookup.connection = connection;
      lookup.command_line.assign(argv, argv + argc);
      return RunLookup(lookup);
    }
    if (health_cmd->parsed()) {
      health.connection = connection;
      return RunHealth(health);
    }
    return kExitUsage;
  };
  const int code = run();
  if (private_server) private_server->Stop();  // the signal thread may still hold it
  return code;
}
