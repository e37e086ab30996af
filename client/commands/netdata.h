// `gather netdata`: rank every chart of a netdata agent by its recent average, starting from the
// dashboard URL as copied from a browser (http://host:19999/#menu_system_submenu_cpu;after=-600000;
// before=0;theme=slate): the agent's base URL and the window come from it, the links go back to
// each chart's place in the dashboard.
#ifndef GATHER_CLIENT_COMMANDS_NETDATA_H_
#define GATHER_CLIENT_COMMANDS_NETDATA_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/commands/common.h"
#include "client/commands/rank.h"

namespace gather::client {

struct NetdataOptions {
  ConnectionOptions connection;
  std::string dashboard;  // the positional URL or --dashboard
  uint32_t top = 20;
  int points = 5;
  std::optional<int> after;   // seconds relative to now; default: the URL's window, else -600
  std::optional<int> before;  // default: the URL's window, else 0
  uint32_t concurrency = 0;
  double timeout_seconds = 0;
  double deadline_seconds = 0;
  double rate = 0;
  uint32_t max_attempts = 0;
  std::vector<std::string> headers;
  std::string credential;  // a credential profile held by gatherd
  bool json = false;
};

// A dashboard URL: scheme, host, port and any path before '#' (no trailing '/'), and the
// fragment's after= and before= (milliseconds, as netdata writes them); other fragment keys are
// ignored.
struct Dashboard {
  std::string base;
  std::optional<int64_t> after_ms;
  std::optional<int64_t> before_ms;
};
absl::StatusOr<Dashboard> ParseDashboardUrl(absl::string_view url);

// BASE/#menu_TYPE_submenu_FAMILY;after=MS;before=MS, dots in type and family written as '_'.
std::string ChartLink(const std::string& base, std::string type, std::string family,
                      int64_t after_ms, int64_t before_ms);

// Chart id -> (type, family) from the agent's /api/v1/charts document. INVALID_ARGUMENT when it
// has no "charts" object.
absl::StatusOr<std::map<std::string, std::pair<std::string, std::string>>> ParseChartsIndex(
    absl::string_view json);

// The ranking call for the charts: one job per chart (its data over the window), the score the
// mean over rows of each row's mean after the time column, the links to the dashboard.
RankOptions NetdataRankOptions(
    const NetdataOptions& options, const std::string& base, int after_seconds,
    int before_seconds,
    const std::map<std::string, std::pair<std::string, std::string>>& charts);

// Reads the index through gatherd, then ranks. Returns an exit code (common.h); a failed index
// is reported by its URL and HTTP status (exit 1).
int RunNetdata(const NetdataOptions& options);

}  // namespace gather::client

#endif  // GATHER_CLIENT_COMMANDS_NETDATA_H_
