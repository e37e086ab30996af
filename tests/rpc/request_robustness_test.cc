// Request validation never crashes and always names the field: random and hostile values in every
// field of FetchAndRankRequest and LookupSpec (a deterministic seed, so failures reproduce).
#include <cmath>
#include <limits>
#include <random>
#include <string_view>

#include "gtest/gtest.h"
#include "service/rpc/lookup_request.h"
#include "service/rpc/rank_request.h"

namespace gather::rpc {
namespace {

class Chaos {
 public:
  explicit Chaos(uint64_t seed) : random_(seed) {}

  std::string String() {
    // string_view, not const char*: one piece is a NUL byte.
    static constexpr std::string_view kPieces[] = {
        "", "{key}", "http://", "https://", "ftp://", "/", "~", "~0", "~1", "~2", "a", "%", "%zz",
        "\r\n", std::string_view("\0", 1), "\xff\xfe", "[::1]", "127.0.0.1", "{key}.example",
        ":80", "@", "#", "?", "&", "=", " ", "é", "/data", "api.example", "{", "}", "{{key}}"};
    std::string out;
    int n = Int(0, 8);
    for (int i = 0; i < n; ++i) out += kPieces[Int(0, std::size(kPieces) - 1)];
    if (Int(0, 20) == 0) out += std::string(static_cast<size_t>(Int(0, 20000)), 'x');
    return out;
  }
  double Double() {
    static const double kValues[] = {0, -1, 1, 0.5, 1e300, -1e300,
                                     std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::quiet_NaN(), 1e-9, 300, 301};
    return kValues[Int(0, std::size(kValues) - 1)];
  }
  uint32_t Uint() {
    static const uint32_t kValues[] = {0, 1, 2, 50, 1000, 1001, 100000, 0xffffffffu};
    return kValues[Int(0, std::size(kValues) - 1)];
  }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }

  void Policy(v1::FetchPolicy* policy) {
    policy->set_timeout_seconds(Double());
    policy->set_concurrency(Uint());
    policy->set_max_body_bytes(Int(0, 1) ? Uint() : (uint64_t{1} << 40));
    policy->set_rate(Double());
    policy->set_burst(Uint());
    policy->set_max_attempts(Uint());
  }
  void Headers(google::protobuf::RepeatedPtrField<v1::Header>* headers) {
    int n = Int(0, 3) == 0 ? Int(0, 100) : Int(0, 2);
    for (int i = 0; i < n; ++i) {
      v1::Header* header = headers->Add();
      header->set_name(String());
      header->set_value(String());
    }
  }

 private:
  std::mt19937_64 random_;
};

void ExpectNamedError(const absl::Status& status, const std::string& input) {
  if (status.ok()) return;
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status << " for " << input;
  std::string message(status.message());
  size_t colon = message.find(": ");
  ASSERT_NE(colon, std::string::npos) << message;
  std::string field = message.substr(0, colon);
  EXPECT_FALSE(field.empty()) << message;
  EXPECT_EQ(field.find(' '), field.find(" (message")) << "field name expected first: " << message;
}

TEST(RequestRobustnessTest, RandomLookupSpecsNeverCrashAndNameTheField) {
  Chaos chaos(20261123);
  config::Limits limits;
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    v1::LookupSpec spec;
    spec.set_url_template(chaos.Int(0, 3) == 0 ? "http://api.example/items/{key}" : chaos.String());
    static const char* const kMethods[] = {"GET", "POST", "PUT", "delete"};
    spec.set_method(chaos.Int(0, 2) == 0 ? kMethods[chaos.Int(0, 3)] : chaos.String());
    if (chaos.Int(0, 2) == 0) {
      spec.set_body(chaos.Int(0, 1) == 0 ? R"({"q": "{key}", "n": {n}})" : chaos.String());
    }
    chaos.Headers(spec.mutable_headers());
    for (int f = chaos.Int(0, 3); f > 0; --f) {
      v1::Field* field = spec.add_fields();
      field->set_name(chaos.String());
      field->set_pointer(chaos.Int(0, 2) == 0 ? "/a/b" : chaos.String());
    }
    for (int r = chaos.Int(0, 2); r > 0; --r) spec.add_required(chaos.String());
    chaos.Policy(spec.mutable_policy());
    auto plan = BuildLookupPlan(spec, limits);
    ExpectNamedError(plan.status(), spec.ShortDebugString().substr(0, 300));
    if (plan.ok()) {
      ++valid;
      for (int k = 0; k < 5; ++k) {
        v1::Key key;
        key.set_key(chaos.String());
        if (chaos.Int(0, 1) == 0) {
          v1::Column* column = key.add_columns();
          column->set_name(chaos.Int(0, 1) == 0 ? "key" : chaos.String());
          column->set_value(chaos.String());
        }
        (void)RequestForKey(*plan, key, limits);
      }
    }
  }
  EXPECT_GT(valid, 0);
}

TEST(RequestRobustnessTest, RandomRankRequestsNeverCrashAndNameTheField) {
  Chaos chaos(7);
  config::Limits limits;
  for (int i = 0; i < 20000; ++i) {
    v1::FetchAndRankRequest request;
    for (int j = chaos.Int(0, 3); j > 0; --j) {
      v1::Job* job = request.add_jobs();
      job->set_id(chaos.String());
      job->set_url(chaos.Int(0, 2) == 0 ? "http://api.example/x" : chaos.String());
      chaos.Headers(job->mutable_headers());
    }
    if (chaos.Int(0, 2) == 0) {
      request.mutable_discovery()->set_index_url(chaos.String());
      request.mutable_discovery()->set_keys_pointer(chaos.String());
      request.mutable_discovery()->set_url_template(chaos.String());
      request.mutable_discovery()->set_max_keys(chaos.Uint());
    }
    chaos.Headers(request.mutable_headers());
    if (chaos.Int(0, 4) != 0) {
      request.mutable_score()->set_values_pointer(chaos.Int(0, 1) ? "/data" : chaos.String());
      request.mutable_score()->set_row_reducer(static_cast<v1::Reducer>(chaos.Int(-1, 8)));
      request.mutable_score()->set_across_reducer(static_cast<v1::Reducer>(chaos.Int(-1, 8)));
      request.mutable_score()->set_skip_columns(chaos.Uint());
    }
    request.set_top_n(chaos.Uint());
    request.set_order(static_cast<v1::Order>(chaos.Int(-1, 3)));
    chaos.Policy(request.mutable_policy());
    auto plan = BuildRankPlan(request, limits);
    ExpectNamedError(plan.status(), request.ShortDebugString().substr(0, 300));
  }
}

}  // namespace
}  // namespace gather::rpc
