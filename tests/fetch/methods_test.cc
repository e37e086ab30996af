// Requests with methods and bodies against a local upstream: what arrives, which failures of a
// POST are retried, and what a redirect does to the method.
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "service/fetch/curl_engine.h"
#include "tests/support/engine_helpers.h"
#include "tests/support/upstream.h"

namespace gather::fetch {
namespace {

using ::gather::testing::CollectingSink;
using ::gather::testing::LoopbackOptions;
using ::gather::testing::TestUpstream;

std::unique_ptr<CurlEngine> MakeEngine(EngineOptions options) {
  auto engine = CurlEngine::Create(std::move(options));
  EXPECT_TRUE(engine.ok());
  return *std::move(engine);
}

FetchRequest Request(Method method, std::string url, std::string body = "") {
  FetchRequest request;
  request.method = method;
  request.url = std::move(url);
  request.body = std::move(body);
  request.headers = std::make_shared<const HeaderSet>(
      std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"}});
  return request;
}

// What one request looked like at the upstream.
struct Seen {
  std::string method;
  std::string body;
  std::string content_type;
};

TEST(MethodsTest, MethodAndBodyArriveAsSent) {
  std::mutex mu;
  std::map<std::string, Seen> seen;  // by path
  TestUpstream upstream;
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    upstream.Route(method, R"(/echo/(\w+))",
                   [&, method](const httplib::Request& request, httplib::Response& response) {
                     std::lock_guard<std::mutex> lock(mu);
                     seen[request.path] = Seen{request.method, request.body,
                                               request.get_header_value("Content-Type")};
                     response.set_content("{}", "application/json");
                   });
  }
  upstream.Start();
  auto engine = MakeEngine(LoopbackOptions());
  CollectingSink sink;
  GroupId group = engine->OpenGroup(&sink, GroupOptions{});
  const std::string base = upstream.base_url() + "/echo/";
  const std::string json = R"({"q": "caf\u00e9 \"x\"", "n": 42})";
  engine->Submit(group, 0, Request(Method::kPost, base + "post", json));
  engine->Submit(group, 1, Request(Method::kPut, base + "put", json));
  engine->Submit(group, 2, Request(Method::kPatch, base + "patch", json));
  engine->Submit(group, 3, Request(Method::kDelete, base + "delete"));
  engine->Submit(group, 4, Request(Method::kGet, base + "get"));
  engine->Submit(group, 5, Request(Method::kHead, base + "head"));
  ASSERT_TRUE(sink.Wait(6));
  for (auto& [tag, result] : sink.results()) {
    EXPECT_EQ(result.outcome, FetchOutcome::kResponse) << tag << " " << result.error;
    EXPECT_EQ(result.http_status, 200) << tag;
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen["/echo/post"].method, "POST");
  EXPECT_EQ(seen["/echo/post"].body, json);
  EXPECT_EQ(seen["/echo/post"].content_type, "application/json");
  EXPECT_EQ(seen["/echo/put"].method, "PUT");
  EXPECT_EQ(seen["/echo/put"].body, json);
  EXPECT_EQ(seen["/echo/patch"].method, "PATCH");
  EXPECT_EQ(seen["/echo/patch"].body, json);
  EXPECT_EQ(seen["/echo/delete"].method, "DELETE");
  EXPECT_EQ(seen["/echo/delete"].body, "");
  EXPECT_EQ(seen["/echo/get"].method, "GET");
  EXPECT_EQ(seen["/echo/head"].method, "HEAD");
  engine->CloseGroup(group);
}

TEST(MethodsTest, APostIsRetriedOnA503OnlyWhenSaidIdempotent) {
  std::mutex mu;
  std::map<std::string, int> attempts;
  TestUpstream upstream;
  upstream.Route("POST", R"(/flaky/(\w+))",
                 [&](const httplib::Request& request, httplib::Response& response) {
                   int n;
                   {
                     std::lock_guard<std::mutex> lock(mu);
                     n = ++attempts[request.path];
                   }
                   response.status = n == 1 ? 503 : 200;
                   response.set_content("{}", "application/json");
                 });
  upstream.Start();
  EngineOptions options = LoopbackOptions();
  options.backoff.base = absl::Milliseconds(1);
  auto engine = MakeEngine(std::move(options));
  CollectingSink sink;
  GroupId group = engine->OpenGroup(&sink, GroupOptions{});
  FetchRequest plain = Request(Method::kPost, upstream.base_url() + "/flaky/plain", "{}");
  plain.max_attempts = 3;
  FetchRequest idempotent = Request(Method::kPost, upstream.base_url() + "/flaky/idem", "{}");
  idempotent.max_attempts = 3;
  idempotent.idempotent = true;
  engine->Submit(group, 0, std::move(plain));
  engine->Submit(group, 1, std::move(idempotent));
  ASSERT_TRUE(sink.Wait(2));
  auto results = sink.results();
  EXPECT_EQ(results[0].http_status, 503);
  EXPECT_EQ(results[0].attempts, 1u);
  EXPECT_NE(results[0].note.find("may have been processed"), std::string::npos);
  EXPECT_EQ(results[1].http_status, 200);
  EXPECT_EQ(results[1].attempts, 2u);
  engine->CloseGroup(group);
}

TEST(MethodsTest, PostsAreNeitherSharedNorHedged) {
  std::mutex mu;
  int posts = 0;
  TestUpstream upstream;
  upstream.Route("POST", "/same", [&](const httplib::Request&, httplib::Response& response) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++posts;
    }
    response.set_content("{}", "application/json");
  });
  upstream.Start();
  auto engine = MakeEngine(LoopbackOptions());
  CollectingSink sink;
  GroupOptions options;
  options.hedge_after = absl::Milliseconds(1);
  GroupId group = engine->OpenGroup(&sink, options);
  const int n = 20;
  for (int i = 0; i < n; ++i) {
    FetchRequest request = Request(Method::kPost, upstream.base_url() + "/same", "{}");
    request.coalesce = true;
    engine->Submit(group, static_cast<uint64_t>(i), std::move(request));
  }
  ASSERT_TRUE(sink.Wait(n));
  for (auto& [tag, result] : sink.results()) EXPECT_FALSE(result.shared) << tag;
  EXPECT_EQ(engine->stats().hedges.load(), 0);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(posts, n);  // one each: none shared, none hedged
  engine->CloseGroup(group);
}

TEST(MethodsTest, A303TurnsAPostIntoAGetA307KeepsIt) {
  std::mutex mu;
  std::vector<std::string> target;  // "METHOD body" seen at /target
  TestUpstream upstream;
  upstream.Route("POST", R"(/moved/(\d+))",
                 [&](const httplib::Request& request, httplib::Response& response) {
                   response.status = std::stoi(request.matches[1]);
                   response.set_header("Location", "/target");
                 });
  auto record = [&](const httplib::Request& request, httplib::Response& response) {
    std::lock_guard<std::mutex> lock(mu);
    target.push_back(absl::StrCat(request.method, " ", request.body));
    response.set_content("{}", "application/json");
  };
  upstream.Route("GET", "/target", record);
  upstream.Route("POST", "/target", record);
  upstream.Start();
  EngineOptions options = LoopbackOptions();
  options.follow_redirects = 2;
  auto engine = MakeEngine(std::move(options));
  CollectingSink sink;
  GroupId group = engine->OpenGroup(&sink, GroupOptions{});
  engine->Submit(group, 0, Request(Method::kPost, upstream.base_url() + "/moved/303", "{\"a\":1}"));
  ASSERT_TRUE(sink.Wait(1));
  engine->Submit(group, 1, Request(Method::kPost, upstream.base_url() + "/moved/307", "{\"a\":1}"));
  ASSERT_TRUE(sink.Wait(2));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(target, (std::vector<std::string>{"GET ", "POST {\"a\":1}"}));
  engine->CloseGroup(group);
}

}  // namespace
}  // namespace gather::fetch
