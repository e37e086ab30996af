// gather-demo-upstream: a netdata-like agent and an entity API (/api/v2/entities/{id}) on loopback for `scripts/demo` and manual tries.
//   gather-demo-upstream [--port=N] [--charts=N] [--delay_ms=N] [--broken]
// Prints "demo upstream listening on 127.0.0.1:PORT" when ready; stops on SIGTERM/SIGINT.
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "tests/support/entity_fixture.h"
#include "tests/support/netdata_fixture.h"
#include "tests/support/upstream.h"

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  int port = 0;
  gather::testing::NetdataFixtureOptions options;
  options.charts = 200;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    auto value = [&](absl::string_view name) -> const char* {
      if (arg.substr(0, name.size()) == name) return argv[i] + name.size();
      return nullptr;
    };
    if (const char* v = value("--port=")) {
      port = std::atoi(v);
    } else if (const char* v = value("--charts=")) {
      options.charts = std::atoi(v);
    } else if (const char* v = value("--delay_ms=")) {
      options.delay = absl::Milliseconds(std::atoi(v));
    } else if (arg == "--broken") {
      options.with_broken_charts = true;
    } else {
      std::cerr << "usage: gather-demo-upstream [--port=N] [--charts=N] [--delay_ms=N] [--broken]\n";
      return 2;
    }
  }
  gather::testing::TestUpstream upstream;
  gather::testing::NetdataFixture fixture(options);
  fixture.Install(upstream);
  gather::testing::EntityFixture entities;
  entities.Install(upstream);
  upstream.Start("127.0.0.1", port);
  std::cout << "demo upstream listening on 127.0.0.1:" << upstream.port() << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  upstream.Stop();
  return 0;
}
