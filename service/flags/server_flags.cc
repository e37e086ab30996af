// gatherd's flags for the gRPC server: where it listens, its logs and metrics, its threads and
// how it stops.
// `gatherd --help` lists them under this file's name.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "service/config/defaults.h"
#include "service/flags/flags.h"

ABSL_FLAG(std::string, listen, gather::config::kDefaultListen, "gRPC listen address HOST:PORT (port 0 picks a free port), or unix:PATH");
ABSL_FLAG(std::string, log_level, "info", "least level logged on stderr: debug, info, warning or error");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT of the Prometheus /metrics page (port 0 picks one; empty: no metrics)");
ABSL_FLAG(int, max_rpcs, gather::config::kDefaultMaxRpcs, "RPCs served at once; more get RESOURCE_EXHAUSTED");
ABSL_FLAG(int, engine_threads, 0,
          "HTTP loop threads, each with its share of --max_inflight and --max_per_host (0: one "
          "per CPU, at most 4); rate-limited traffic stays on one of them");
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
