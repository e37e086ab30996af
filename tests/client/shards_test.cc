#include "client/lookup/shards.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace gather::client {
namespace {

TEST(ParseServerListTest, PlainAddressesListsAndDnsNames) {
  auto one = ParseServerList("127.0.0.1:50051");
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].text, "127.0.0.1:50051");
  EXPECT_FALSE((*one)[0].dns);

  auto list = ParseServerList("a:1, b:2 ,c:3");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[1].text, "b:2");

  auto dns = ParseServerList("dns:///gatherd-headless.gather.svc.cluster.local:50051");
  ASSERT_TRUE(dns.ok()) << dns.status();
  EXPECT_TRUE((*dns)[0].dns);
  EXPECT_EQ((*dns)[0].host, "gatherd-headless.gather.svc.cluster.local");
  EXPECT_EQ((*dns)[0].port, "50051");

  auto v6 = ParseServerList("dns:///[::1]:7");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ((*v6)[0].host, "::1");
}

TEST(ParseServerListTest, BadEntriesNameThemselves) {
  for (const char* bad : {"", "a:1,,b:2", "a:1,", "dns:///name", "dns:///name:", "dns:///:50051",
                          "dns://8.8.8.8/name:50051", "dns:///name:http"}) {
    auto parsed = ParseServerList(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(parsed.status().message().find("--server"), absl::string_view::npos) << bad;
  }
}

// Only "localhost" (from /etc/hosts): tests send nothing to a DNS server.
TEST(ResolveServersTest, PlainTargetsPassThroughAndDnsNamesBecomeAddresses) {
  auto targets = ParseServerList("b:2,a:1,b:2,dns:///localhost:50051");
  ASSERT_TRUE(targets.ok());
  auto servers = ResolveServers(*targets);
  ASSERT_TRUE(servers.ok()) << servers.status();
  ASSERT_GE(servers->size(), 3u);
  EXPECT_EQ((*servers)[0], (ResolvedServer{"b:2", ""}));
  EXPECT_EQ((*servers)[1], (ResolvedServer{"a:1", ""}));  // the duplicate b:2 is dropped
  for (size_t i = 2; i < servers->size(); ++i) {
    EXPECT_EQ((*servers)[i].dns_name, "localhost");
    const std::string& address = (*servers)[i].address;
    EXPECT_TRUE(address.rfind("127.", 0) == 0 || address == "[::1]:50051") << address;
    EXPECT_TRUE(address.size() > 6 && address.substr(address.size() - 6) == ":50051") << address;
  }
}

TEST(ShardOfTest, StableAndEven) {
  EXPECT_EQ(ShardOf("anything", 1), 0u);
  EXPECT_EQ(ShardOf("anything", 0), 0u);
  // Fixed values: the split must not change between versions (a resumed run may use another
  // version of the CLI, and shards must still meet the same servers' caches).
  EXPECT_EQ(ShardOf("Q42", 3), ShardOf("Q42", 3));
  std::vector<uint32_t> golden;
  for (const char* key : {"", "0", "1", "Q42", "entity/123"}) golden.push_back(ShardOf(key, 7));
  EXPECT_EQ(golden, (std::vector<uint32_t>{5, 0, 1, 6, 6}));
  // Short numeric keys (the common case) spread evenly.
  for (uint32_t shards : {2u, 3u, 5u, 16u}) {
    std::map<uint32_t, int> counts;
    const int n = 100'000;
    for (int i = 0; i < n; ++i) ++counts[ShardOf(absl::StrCat(i), shards)];
    ASSERT_EQ(counts.size(), shards);
    for (const auto& [shard, count] : counts) {
      EXPECT_NEAR(count, n / static_cast<double>(shards), n / shards * 0.03)
          << shard << " of " << shards;
    }
  }
}

TEST(ServerForAttemptTest, StartsSpreadAndMovesOnAfterAFailure) {
  EXPECT_EQ(ServerForAttempt(0, 0, 3), 0u);
  EXPECT_EQ(ServerForAttempt(1, 0, 3), 1u);
  EXPECT_EQ(ServerForAttempt(4, 0, 3), 1u);
  EXPECT_EQ(ServerForAttempt(1, 1, 3), 2u);
  EXPECT_EQ(ServerForAttempt(1, 2, 3), 0u);
  EXPECT_EQ(ServerForAttempt(5, 7, 1), 0u);
  EXPECT_EQ(ServerForAttempt(5, 7, 0), 0u);
}

TEST(ReconnectBackoffTest, DoublesFromHalfASecondToThirtyWithJitter) {
  EXPECT_EQ(ReconnectBackoff(0, 0.5), absl::ZeroDuration());
  EXPECT_EQ(ReconnectBackoff(1, 0.5), absl::Milliseconds(500));
  EXPECT_EQ(ReconnectBackoff(2, 0.5), absl::Seconds(1));
  EXPECT_EQ(ReconnectBackoff(4, 0.5), absl::Seconds(4));
  EXPECT_EQ(ReconnectBackoff(10, 0.5), absl::Seconds(30));
  EXPECT_EQ(ReconnectBackoff(1000, 0.5), absl::Seconds(30));
  EXPECT_EQ(ReconnectBackoff(1, 0.0), absl::Milliseconds(400));
  EXPECT_EQ(ReconnectBackoff(10, 1.0), absl::Seconds(36));
  EXPECT_EQ(ReconnectBackoff(1, 7.0), ReconnectBackoff(1, 1.0));  // clamped
}

TEST(IsReconnectableTest, TransportTroubleYesVerdictsNo) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::CANCELLED,
        grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::UNKNOWN, grpc::StatusCode::ABORTED}) {
    EXPECT_TRUE(IsReconnectable(code)) << code;
  }
  for (grpc::StatusCode code :
       {grpc::StatusCode::OK, grpc::StatusCode::INVALID_ARGUMENT,
        grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::UNIMPLEMENTED, grpc::StatusCode::NOT_FOUND}) {
    EXPECT_FALSE(IsReconnectable(code)) << code;
  }
}

}  // namespace
}  // namespace gather::client
