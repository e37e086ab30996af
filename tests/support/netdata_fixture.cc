#include "tests/support/netdata_fixture.h"

#include <cmath>
#include <cstdint>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace gather::testing {
namespace {

const char* const kTypes[] = {"system", "disk", "net", "apps", "mem", "ipv4", "cgroup"};
const char* const kFamilies[] = {"cpu", "load", "ram", "io", "net", "processes", "ctxt", "intr",
                                 "swap", "sda", "eth0", "packets", "errors", "pids"};

uint64_t Hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

NetdataFixture::NetdataFixture(NetdataFixtureOptions options) : options_(options) {
  int n = 0;
  for (const char* family : kFamilies) {
    for (const char* type : kTypes) {
      if (n >= options_.charts) break;
      names_.push_back(absl::StrCat(type, ".", family));
      ++n;
    }
  }
  for (int i = 0; n < options_.charts; ++i, ++n) names_.push_back(absl::StrCat("custom.chart_", i));
  if (options_.with_broken_charts) {
    names_.push_back("broken.text");
    names_.push_back("broken.nulls");
  }
}

std::vector<std::vector<double>> NetdataFixture::Rows(const std::string& chart, int points) const {
  std::vector<std::vector<double>> rows;
  uint64_t h = Hash(chart);
  int dims = 1 + static_cast<int>(h % 4);
  double base = static_cast<double>(h % 10000) / 100.0;  // 0.00 .. 99.99
  for (int r = 0; r < points; ++r) {
    std::vector<double> row;
    for (int d = 0; d < dims; ++d) {
      bool null = chart == "broken.nulls" || ((h >> (r + d)) % 7 == 0 && d > 0);
      row.push_back(null ? std::nan("") : base + r * 0.25 + d * 1.5);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

double NetdataFixture::ExpectedScore(const std::string& chart, int points) const {
  double total = 0;
  int rows = 0;
  for (const auto& row : Rows(chart, points)) {
    double sum = 0;
    int count = 0;
    for (double v : row) {
      if (std::isnan(v)) continue;
      sum += v;
      ++count;
    }
    if (count == 0) continue;
    total += sum / count;
    ++rows;
  }
  return rows == 0 ? std::nan("") : total / rows;
}

std::string NetdataFixture::ChartsJson() const {
  nlohmann::json charts = nlohmann::json::object();
  for (const std::string& name : names_) {
    size_t dot = name.find('.');
    charts[name] = {{"id", name},
                    {"name", name},
                    {"type", name.substr(0, dot)},
                    {"family", name.substr(dot + 1)},
                    {"title", absl::StrCat("Chart ", name)},
                    {"data_url", absl::StrCat("/api/v1/data?chart=", name)}};
  }
  return nlohmann::json{{"hostname", "demo"}, {"version", "v1.0-fixture"}, {"charts", charts}}.dump();
}

std::string NetdataFixture::DataJson(const std::string& chart, int points) const {
  if (chart == "broken.text") return "<html>this is not JSON</html>";
  auto rows = Rows(chart, points);
  nlohmann::json labels = nlohmann::json::array({"time"});
  for (size_t d = 0; d < (rows.empty() ? 0 : rows[0].size()); ++d) labels.push_back(absl::StrCat("dim", d));
  nlohmann::json data = nlohmann::json::array();
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (size_t r = 0; r < rows.size(); ++r) {
    nlohmann::json row = nlohmann::json::array({now - static_cast<int64_t>(r)});
    for (double v : rows[r]) {
      if (std::isnan(v)) {
        row.push_back(nullptr);
      } else {
        row.push_back(v);
      }
    }
    data.push_back(std::move(row));
  }
  return nlohmann::json{{"labels", labels}, {"data", data}}.dump();
}

void NetdataFixture::Install(TestUpstream& upstream) {
  upstream.Get("/api/v1/charts", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(ChartsJson(), "application/json");
  });
  upstream.Get("/api/v1/data", [this, &upstream](const httplib::Request& request,
                                                 httplib::Response& response) {
    if (options_.delay > absl::ZeroDuration() && !upstream.Delay(options_.delay)) {
      response.status = 503;
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      windows_.insert(absl::StrCat("after=", request.get_param_value("after"),
                                   "&before=", request.get_param_value("before")));
    }
    std::string chart = request.get_param_value("chart");
    int points = 5;
    if (request.has_param("points") && !absl::SimpleAtoi(request.get_param_value("points"), &points)) {
      response.status = 400;
      return;
    }
    bool known = false;
    for (const std::string& name : names_) known = known || name == chart;
    if (!known) {
      response.status = 404;
      response.set_content("{\"error\":\"no such chart\"}", "application/json");
      return;
    }
    response.set_content(DataJson(chart, points), "application/json");
  });
}

}  // namespace gather::testing
