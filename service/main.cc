// gatherd: flags -> Config -> engine + service -> gRPC server; SIGTERM/SIGINT drain, then stop.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <malloc.h>
#include <signal.h>

#include <thread>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "prometheus/exposer.h"
#include "service/auth/authenticator.h"
#include "service/config/config.h"
#include "service/fetch/curl_engine.h"
#include "service/observe/log.h"
#include "service/observe/metrics.h"
#include "service/rpc/gather_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address HOST:PORT (port 0 picks a free port)");
ABSL_FLAG(std::string, log_level, "info", "least level logged on stderr: debug, info, warning or error");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT of the Prometheus /metrics page (port 0 picks one; empty: no metrics)");
ABSL_FLAG(std::string, egress_allow, "",
          "comma-separated CIDRs gatherd may connect to even though they are not public "
          "(e.g. 127.0.0.0/8 for local upstreams)");
ABSL_FLAG(std::string, egress_deny, "", "comma-separated CIDRs never to connect to (wins over --egress_allow)");
ABSL_FLAG(std::string, egress_allow_hosts, "",
          "host names (or *.suffix) that may be reached on non-public addresses, e.g. "
          "*.svc.cluster.local; --egress_deny still wins");
ABSL_FLAG(std::string, egress_deny_hosts, "",
          "host names (or *.suffix) never connected to, whatever they resolve to "
          "(e.g. metadata.google.internal); checked on every redirect hop");
ABSL_FLAG(int, max_rpcs, 64, "RPCs served at once; more get RESOURCE_EXHAUSTED");
ABSL_FLAG(uint64_t, max_queued_jobs, 1000000,
          "FetchAndRank jobs admitted server-wide and not yet finished; an RPC that would pass it "
          "gets RESOURCE_EXHAUSTED at once");
ABSL_FLAG(int, max_inflight, 2000, "HTTP transfers in flight over all RPCs");
ABSL_FLAG(int, max_per_host, 1000, "HTTP transfers in flight to one host over all RPCs");
ABSL_FLAG(int, engine_threads, 0,
          "HTTP loop threads, each with its share of --max_inflight and --max_per_host (0: one "
          "per CPU, at most 4); rate-limited traffic stays on one of them");
ABSL_FLAG(int, max_rpc_concurrency, 1000, "upper bound of a request's policy.concurrency");
ABSL_FLAG(int, follow_redirects, 0, "redirects to follow per job (0: a 3xx answer ends the job with REDIRECT_ERROR)");
ABSL_FLAG(double, default_timeout, 10, "per-job timeout in seconds when a request gives none");
ABSL_FLAG(double, max_timeout, 300, "upper bound of a request's per-job timeout, seconds");
ABSL_FLAG(uint64_t, max_body_bytes, 64u << 20, "upper bound of a request's body cap, bytes");
ABSL_FLAG(uint64_t, max_jobs, 1000000, "jobs of one FetchAndRank (explicit or discovered)");
ABSL_FLAG(uint64_t, max_keys_per_message, 10000, "keys in one BatchLookup request message");
ABSL_FLAG(uint64_t, max_url_length, 8192, "longest URL fetched; longer keys end with INVALID_KEY");
ABSL_FLAG(std::string, host_rate, "",
          "server-wide request rates per host: PATTERN=RATE[:BURST],... where PATTERN is a host, "
          "*.suffix or * (e.g. api.example.com=100:10,*=500); requests' own rates can only be lower");
ABSL_FLAG(int, default_attempts, 3, "transfers per job (retries included) when a request gives none");
ABSL_FLAG(int, max_attempts, 10, "upper bound of a request's policy.max_attempts");
ABSL_FLAG(double, retry_budget_ratio, 0.2, "retries allowed per first attempt, per host");
ABSL_FLAG(double, retry_budget_min_per_second, 10, "retries allowed per second per host on top of the ratio");
ABSL_FLAG(double, max_retry_after, 60, "seconds; a longer Retry-After ends the job instead of waiting");
ABSL_FLAG(double, coalesce_window, 1,
          "seconds an answer is also given to identical requests made after it arrived "
          "(0: only requests made while it was fetched)");
ABSL_FLAG(std::string, ca_file, "", "extra CA bundle (PEM) for TLS upstreams");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for the gRPC port (with --tls_key); re-read when the file "
          "changes. Without it gatherd serves plaintext (loopback development only)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: the Gather service then requires a client certificate signed by it "
          "(mTLS); health and reflection stay open to probes without one");
ABSL_FLAG(std::string, token_file, "",
          "bearer tokens, one 'NAME TOKEN [PROFILES]' per line: calls must carry "
          "'authorization: Bearer TOKEN'; re-read when the file changes (GATHERD_TOKEN in the "
          "environment adds one more)");
ABSL_FLAG(std::string, credentials_file, "",
          "credential profiles (JSON: name -> {hosts, headers}) callers can name instead of "
          "sending secrets; re-read when the file changes");
ABSL_FLAG(double, shutdown_grace, 5,
          "seconds gatherd takes to stop after SIGTERM: in-flight RPCs run on until its last "
          "quarter (at most 1 s), then their remaining jobs are cancelled and reported "
          "CANCELLED before the calls end");

ABSL_FLAG(double, keepalive_time, 60,
          "seconds between gatherd's keepalive pings on an idle connection (a dead client is "
          "found within this + 20 s); clients may ping every 10 s or more");
ABSL_FLAG(double, max_connection_age, 1800,
          "seconds after which a client connection is asked to reconnect (GOAWAY), so clients "
          "rebalance over new replicas after a rolling update; 0 = never");
ABSL_FLAG(double, max_connection_age_grace, 300,
          "seconds calls on an aged connection get before it is closed (a long `gather lookup` "
          "then reconnects and resumes by itself)");

namespace {

// The end of the grace kept for the cancelled calls to send their CANCELLED rows and end: a
// quarter of it, at most this.
constexpr std::chrono::milliseconds kMaxDrainFlush{1000};

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// GATHERD_<NAME> in the environment sets --<name> (before the command line is parsed, so the
// command line wins). An unparsable value is an error naming the variable.
absl::Status ApplyEnvironmentFlags() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    std::string variable = absl::StrCat("GATHERD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(variable, ": ", error));
    }
  }
  return absl::OkStatus();
}

// TLS on the gRPC port when --tls_cert is given (files re-read when they change, so certificates
// rotate without a restart), with client certificates requested and verified for mTLS.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const gather::config::Config& config) {
  if (config.tls_cert.empty()) return grpc::InsecureServerCredentials();
  constexpr unsigned int kRefreshSeconds = 60;
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.tls_key, config.tls_cert, config.tls_client_ca, kRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.tls_client_ca.empty()) {
    options.watch_root_certs();
    // Requested and verified when presented, but not required by the handshake: the Gather
    // service refuses calls without one (Authenticator), health and reflection do not.
    options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts: block the signals we wait for, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);  // reload token and profile files now
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // with CURLOPT_NOSIGNAL libcurl no longer ignores it for us
  // glibc gives the free top of a thread's heap back to the kernel once 128 KB are free and maps
  // it in again on the next burst: at tens of thousands of bodies a second that is a stream of
  // madvise calls and page faults (about a tenth of gatherd's CPU, measured). Keep up to 32 MB
  // free per heap, grow heaps 4 MB at a time, and map only allocations of 1 MB and more.
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  RaiseFileLimit();

  absl::SetProgramUsageMessage(
      "gatherd: the gather gRPC service (gather.v1). Fetches many HTTP URLs concurrently and\n"
      "streams scored or extracted results. Example:\n"
      "  gatherd --listen=127.0.0.1:50051 --egress_allow=127.0.0.0/8\n"
      "Every flag can also be set in the environment as GATHERD_<FLAG>, e.g.\n"
      "GATHERD_LISTEN=0.0.0.0:50051 or GATHERD_MAX_INFLIGHT=4000; the command line wins.");
  if (absl::Status status = ApplyEnvironmentFlags(); !status.ok()) {
    std::cerr << "gatherd: " << status.message() << "\n";
    return 2;
  }
  absl::ParseCommandLine(argc, argv);  // the command line wins over the environment

  using gather::observe::Log;
  using gather::observe::LogLevel;
  if (auto level = gather::observe::ParseLogLevel(absl::GetFlag(FLAGS_log_level)); level.ok()) {
    gather::observe::SetLogLevel(*level);
  } else {
    Log(LogLevel::kError, level.status().message());
    return 2;
  }
  for (const auto& [name, value, minimum] :
       {std::tuple<const char*, double, double>{"shutdown_grace",
                                                absl::GetFlag(FLAGS_shutdown_grace), 0},
        {"keepalive_time", absl::GetFlag(FLAGS_keepalive_time), 1},
        {"max_connection_age", absl::GetFlag(FLAGS_max_connection_age), 0},
        {"max_connection_age_grace", absl::GetFlag(FLAGS_max_connection_age_grace), 0}}) {
    if (!(value >= minimum) || std::isinf(value)) {
      Log(LogLevel::kError, absl::StrCat("--", name, " must be a number of seconds >= ", minimum));
      return 2;
    }
  }
  gather::config::Flags flags;
  flags.listen = absl::GetFlag(FLAGS_listen);
  flags.egress_allow = absl::GetFlag(FLAGS_egress_allow);
  flags.egress_deny = absl::GetFlag(FLAGS_egress_deny);
  flags.egress_allow_hosts = absl::GetFlag(FLAGS_egress_allow_hosts);
  flags.egress_deny_hosts = absl::GetFlag(FLAGS_egress_deny_hosts);
  flags.max_rpcs = absl::GetFlag(FLAGS_max_rpcs);
  flags.max_queued_jobs = absl::GetFlag(FLAGS_max_queued_jobs);
  flags.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  flags.engine_threads = absl::GetFlag(FLAGS_engine_threads);
  flags.max_per_host = absl::GetFlag(FLAGS_max_per_host);
  flags.max_rpc_concurrency = absl::GetFlag(FLAGS_max_rpc_concurrency);
  flags.follow_redirects = absl::GetFlag(FLAGS_follow_redirects);
  flags.default_timeout_seconds = absl::GetFlag(FLAGS_default_timeout);
  flags.max_timeout_seconds = absl::GetFlag(FLAGS_max_timeout);
  flags.max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  flags.max_jobs = absl::GetFlag(FLAGS_max_jobs);
  flags.max_keys_per_message = absl::GetFlag(FLAGS_max_keys_per_message);
  flags.max_url_length = absl::GetFlag(FLAGS_max_url_length);
  flags.ca_file = absl::GetFlag(FLAGS_ca_file);
  flags.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  flags.tls_key = absl::GetFlag(FLAGS_tls_key);
  flags.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  flags.token_file = absl::GetFlag(FLAGS_token_file);
  flags.credentials_file = absl::GetFlag(FLAGS_credentials_file);
  if (const char* token = std::getenv("GATHERD_TOKEN"); token != nullptr) flags.env_token = token;
  flags.host_rate = absl::GetFlag(FLAGS_host_rate);
  flags.default_attempts = absl::GetFlag(FLAGS_default_attempts);
  flags.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  flags.retry_budget_ratio = absl::GetFlag(FLAGS_retry_budget_ratio);
  flags.retry_budget_min_per_second = absl::GetFlag(FLAGS_retry_budget_min_per_second);
  flags.max_retry_after_seconds = absl::GetFlag(FLAGS_max_retry_after);
  flags.coalesce_window_seconds = absl::GetFlag(FLAGS_coalesce_window);
  auto config = gather::config::LoadConfig(flags);
  if (!config.ok()) {
    Log(LogLevel::kError, config.status().message());
    return 2;
  }

  gather::fetch::EngineOptions engine_options;
  engine_options.loops = config->engine_threads;
  engine_options.max_inflight = config->max_inflight;
  engine_options.max_per_host = config->max_per_host;
  engine_options.follow_redirects = config->follow_redirects;
  engine_options.ca_file = config->ca_file;
  engine_options.egress = gather::policy::EgressPolicy(
      config->egress_allow, config->egress_deny, config->egress_allow_hosts,
      config->egress_deny_hosts);
  engine_options.host_rates = config->host_rates;
  engine_options.retry_budget_ratio = config->retry_budget_ratio;
  engine_options.retry_budget_min_per_second = config->retry_budget_min_per_second;
  engine_options.max_retry_after = config->max_retry_after;
  engine_options.coalesce_window = config->coalesce_window;
  auto engine = gather::fetch::CurlEngine::Create(std::move(engine_options));
  if (!engine.ok()) {
    Log(LogLevel::kError, engine.status().message());
    return 1;
  }

  std::unique_ptr<gather::auth::Authenticator> authenticator;
  if (!config->token_file.empty() || !config->env_token.empty() ||
      !config->credentials_file.empty() || !config->tls_client_ca.empty()) {
    gather::auth::AuthOptions auth_options;
    auth_options.token_file = config->token_file;
    auth_options.env_token = config->env_token;
    auth_options.credentials_file = config->credentials_file;
    auth_options.require_client_cert = !config->tls_client_ca.empty();
    auto created = gather::auth::Authenticator::Create(std::move(auth_options));
    if (!created.ok()) {
      Log(LogLevel::kError, created.status().message());
      return 2;
    }
    authenticator = *std::move(created);
  }

  gather::rpc::ServiceState state;
  state.auth = authenticator.get();

  // Metrics: counters updated by the reactors, engine gauges read when the page is scraped.
  gather::observe::Metrics metrics;
  std::shared_ptr<gather::observe::EngineCollector> collector;
  std::unique_ptr<prometheus::Exposer> exposer;
  if (const std::string listen = absl::GetFlag(FLAGS_metrics_listen); !listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/1);
    } catch (const std::exception& error) {
      Log(LogLevel::kError, absl::StrCat("--metrics_listen=", listen, ": ", error.what()));
      return 1;
    }
    collector = std::make_shared<gather::observe::EngineCollector>(engine->get(),
                                                                   &state.active_rpcs);
    exposer->RegisterCollectable(metrics.registry());
    exposer->RegisterCollectable(collector);
    state.metrics = &metrics;
    std::vector<int> ports = exposer->GetListeningPorts();
    std::string address = absl::StrCat(listen.substr(0, listen.rfind(':')), ":",
                                       ports.empty() ? 0 : ports.front());
    Log(LogLevel::kInfo, absl::StrCat("metrics on ", address, "/metrics"),
        {{"metrics_address", address}});
  }
  state.engine = engine->get();
  state.limits = config->limits;
  state.follow_redirects = config->follow_redirects;
  state.max_rpcs = config->max_rpcs;
  state.max_queued_jobs = config->max_queued_jobs;
  gather::rpc::GatherService service(&state);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen, ServerCredentials(*config), &port);
  builder.RegisterService(&service);
  // Key messages are batches (CLI: <= 1 MiB); leave room for a few very long keys.
  builder.SetMaxReceiveMessageSize(16 << 20);
  // BatchLookup bounds the keys it holds itself (a window per call). With BDP probing, gRPC
  // grows each stream's receive window over a long call and buffers up to that many unread key
  // bytes per call in the transport: peak memory then grows with the run's length (measured:
  // +8 MB over 1M keys). The fixed 64 KB window keeps memory flat; loopback and in-cluster
  // round trips are short enough that it costs no throughput (measured: none at ~30k keys/s).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto milliseconds = [](double seconds) {
    return static_cast<int>(std::min(seconds * 1000, 2e9));
  };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             milliseconds(absl::GetFlag(FLAGS_keepalive_time)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Clients (the CLI pings every 30 s during a call) may ping this often without a GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  if (double age = absl::GetFlag(FLAGS_max_connection_age); age > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, milliseconds(age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               milliseconds(absl::GetFlag(FLAGS_max_connection_age_grace)));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Log(LogLevel::kError, absl::StrCat("cannot listen on ", config->listen));
    return 1;
  }
  std::string host = config->listen.substr(0, config->listen.rfind(':'));
  std::cout << "gatherd listening on " << host << ":" << port << std::endl;
  Log(LogLevel::kInfo, "listening",
      {{"address", absl::StrCat(host, ":", port)}, {"tls", !config->tls_cert.empty()},
       {"mtls", !config->tls_client_ca.empty()},
       {"tokens", authenticator != nullptr && authenticator->tokens_required()}});

  if (config->tls_cert.empty()) {
    Log(LogLevel::kWarning,
        absl::StrCat("serving plaintext gRPC (no --tls_cert)",
                     config->token_file.empty() && config->env_token.empty()
                         ? ""
                         : "; bearer tokens cross the network unencrypted",
                     ": use it only on loopback or behind a proxy or mesh that encrypts"));
  }
  if (authenticator == nullptr) {
    Log(LogLevel::kWarning, "no --token_file or --tls_client_ca: every caller is served");
  }

  // Wait for SIGTERM/SIGINT; meanwhile pick up changed token and profile files (each second, and
  // at once on SIGHUP).
  int received = 0;
  while (true) {
    timespec tick{1, 0};
    received = sigtimedwait(&signals, nullptr, &tick);
    if (received == SIGTERM || received == SIGINT) break;
    if (authenticator != nullptr) {
      for (const std::string& line : authenticator->Refresh()) {
        Log(LogLevel::kInfo, line);
      }
    }
  }
  Log(LogLevel::kInfo, "draining", {{"signal", static_cast<int64_t>(received)}});
  state.shutting_down = true;
  if (auto* health = server->GetHealthCheckService()) health->Shutdown();
  auto grace = std::chrono::milliseconds(
      static_cast<int64_t>(absl::GetFlag(FLAGS_shutdown_grace) * 1000));
  const auto grace_end = std::chrono::steady_clock::now() + grace;
  const auto flush = std::min<std::chrono::milliseconds>(kMaxDrainFlush, grace / 4);
  // Let running calls finish within the grace (new ones are refused meanwhile). gRPC's own
  // Shutdown(deadline) would also wait out the whole grace for idle client connections, so wait
  // for our calls here and then give gRPC no more time.
  auto wait_for_calls = [&state](std::chrono::steady_clock::time_point until) {
    while (state.active_rpcs.load() > 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return state.active_rpcs.load() == 0;
  };
  if (!wait_for_calls(grace_end - flush)) {
    // The grace is nearly over: the calls still running cancel their jobs, send those CANCELLED
    // rows and end (a BatchLookup whose caller was still sending ends UNAVAILABLE, so the caller
    // resumes elsewhere). Writing that takes milliseconds unless a caller stopped reading.
    int calls = state.DrainAll();
    Log(LogLevel::kInfo, "grace over: cancelling the jobs still running",
        {{"calls", static_cast<int64_t>(calls)}});
    if (!wait_for_calls(grace_end)) {
      Log(LogLevel::kWarning, "calls did not end after their jobs were cancelled; cutting them",
          {{"calls", static_cast<int64_t>(state.active_rpcs.load())}});
    }
  }
  // Whatever still runs is cut now.
  server->Shutdown(std::chrono::system_clock::now());
  (*engine)->Stop();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}
