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
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
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
#include "service/flags/flags.h"
#include "service/ratestore/local_store.h"
#include "service/ratestore/redis_store.h"
#include "service/observe/log.h"
#include "service/observe/metrics.h"
#include "service/rpc/gather_service.h"

namespace {

// The end of the grace kept for the cancelled calls to send their CANCELLED rows and end: a
// quarter of it, at most this.
constexpr std::chrono::milliseconds kMaxDrainFlush{1000};

// What the metrics page shows of the engine, read on the scraping thread.
gather::observe::EngineSnapshot EngineSnapshotOf(
    const gather::fetch::CurlEngine& engine, const gather::ratestore::RedisRateStore* store) {
  const gather::fetch::EngineStats& stats = engine.stats();
  gather::observe::EngineSnapshot out;
  out.inflight = stats.inflight.load();
  out.queued = stats.queued.load();
  out.started = stats.started.load();
  out.retries = stats.retries.load();
  out.retries_denied = stats.retries_denied.load();
  out.retries_waited = stats.retries_waited.load();
  out.rate_waits = stats.rate_waits.load();
  out.coalesced = stats.coalesced.load();
  out.hedges = stats.hedges.load();
  out.hedges_won = stats.hedges_won.load();
  out.host_rates = engine.HostRates();
  out.quota_left = engine.QuotasLeft();
  if (store != nullptr) {
    out.has_rate_store = true;
    out.rate_store_up = store->healthy();
    out.rate_store_fallback_leases = store->fallback_leases();
  }
  return out;
}

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
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
      "the gather gRPC service (gather.v1). Fetches many HTTP URLs concurrently and\n"
      "streams scored or extracted results. Example:\n"
      "  gatherd --listen=127.0.0.1:50051 --egress_allow=127.0.0.0/8\n"
      "Every flag can also be set in the environment as GATHERD_<FLAG>, e.g.\n"
      "GATHERD_LISTEN=0.0.0.0:50051 or GATHERD_MAX_INFLIGHT=4000; the command line wins.");
  gather::flags::InstallUsageConfig();
  if (absl::Status status = gather::flags::ApplyEnvironmentFlags(); !status.ok()) {
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
  gather::config::Flags flags = gather::flags::ReadConfigFlags();
  auto config = gather::config::LoadConfig(flags);
  if (!config.ok()) {
    Log(LogLevel::kError, config.status().message());
    return 2;
  }

  // Budgets shared with the other gatherds on a Redis (--rate_store), or quotas of this process
  // alone. Declared before the engine, which uses it, so it is destroyed after.
  std::unique_ptr<gather::ratestore::RateStore> rate_store;
  const gather::ratestore::RedisRateStore* redis_store = nullptr;
  if (config->rate_store) {
    auto store = std::make_unique<gather::ratestore::RedisRateStore>(
        *config->rate_store, [](bool up, const std::string& why) {
          if (up) {
            Log(LogLevel::kInfo, "rate store connected: budgets are shared");
          } else {
            Log(LogLevel::kWarning,
                "rate store unreachable: each host's rate is split by --rate_store_replicas and "
                "quotas are counted locally (approximate) until it is back",
                {{"error", why}});
          }
        });
    redis_store = store.get();
    rate_store = std::move(store);
  } else if (!config->host_quotas.empty()) {
    rate_store = std::make_unique<gather::ratestore::LocalRateStore>();
  }

  gather::fetch::EngineOptions engine_options;
  engine_options.rate_store = rate_store.get();
  engine_options.host_quotas = config->host_quotas;
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
    const gather::fetch::CurlEngine* engine_ptr = engine->get();
    collector = std::make_shared<gather::observe::EngineCollector>(
        [engine_ptr, redis_store] { return EngineSnapshotOf(*engine_ptr, redis_store); },
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
  // "unix:PATH" (a Unix socket, as the CLI's private gatherd listens) has no port to show.
  const std::string address =
      absl::StartsWith(config->listen, "unix:")
          ? config->listen
          : absl::StrCat(config->listen.substr(0, config->listen.rfind(':')), ":", port);
  std::cout << "gatherd listening on " << address << std::endl;
  Log(LogLevel::kInfo, "listening",
      {{"address", address}, {"tls", !config->tls_cert.empty()},
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
