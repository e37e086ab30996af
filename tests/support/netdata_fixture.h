// A netdata-like agent for the demo and the tests: /api/v1/charts and /api/v1/data?chart=NAME
// with deterministic values, so every chart's score is known in advance.
#ifndef GATHER_TESTS_SUPPORT_NETDATA_FIXTURE_H_
#define GATHER_TESTS_SUPPORT_NETDATA_FIXTURE_H_

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/support/upstream.h"

namespace gather::testing {

struct NetdataFixtureOptions {
  int charts = 40;
  absl::Duration delay = absl::ZeroDuration();  // added to every /api/v1/data answer
  // Adds "broken.text" (answers with a non-JSON body) and "broken.nulls" (only null values).
  bool with_broken_charts = false;
};

class NetdataFixture {
 public:
  explicit NetdataFixture(NetdataFixtureOptions options);
  void Install(TestUpstream& upstream);

  const std::vector<std::string>& chart_names() const { return names_; }
  // The rows /api/v1/data returns for `chart` with `points` rows (values only, no time column;
  // a NaN stands for null).
  std::vector<std::vector<double>> Rows(const std::string& chart, int points) const;
  // Mean over rows of each row's mean (nulls skipped, empty rows skipped), computed directly.
  double ExpectedScore(const std::string& chart, int points) const;

  std::string ChartsJson() const;
  std::string DataJson(const std::string& chart, int points) const;

  // The "after=A&before=B" of every /api/v1/data request so far, each once (thread-safe).
  std::set<std::string> windows() const {
    std::lock_guard<std::mutex> lock(mu_);
    return windows_;
  }

 private:
  NetdataFixtureOptions options_;
  mutable std::mutex mu_;
  std::set<std::string> windows_;  // guarded by mu_
  std::vector<std::string> names_;
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_NETDATA_FIXTURE_H_
