#include "client/commands/netdata.h"

#include "gtest/gtest.h"

namespace gather::client {
namespace {

TEST(NetdataTest, ADashboardUrlAsCopiedGivesTheBaseAndTheWindow) {
  auto dashboard = ParseDashboardUrl(
      "http://10.1.2.3:19999/#menu_system_submenu_cpu;after=-600000;before=0;theme=slate");
  ASSERT_TRUE(dashboard.ok()) << dashboard.status();
  EXPECT_EQ(dashboard->base, "http://10.1.2.3:19999");
  EXPECT_EQ(dashboard->after_ms, -600000);
  EXPECT_EQ(dashboard->before_ms, 0);

  auto prefixed = ParseDashboardUrl("https://host/netdata/agent1/?x=1#;theme=slate;after=-3600000");
  ASSERT_TRUE(prefixed.ok());
  EXPECT_EQ(prefixed->base, "https://host/netdata/agent1");
  EXPECT_EQ(prefixed->after_ms, -3600000);
  EXPECT_FALSE(prefixed->before_ms.has_value());

  auto plain = ParseDashboardUrl("http://127.0.0.1:19999/");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->base, "http://127.0.0.1:19999");
  EXPECT_FALSE(plain->after_ms.has_value());

  EXPECT_FALSE(ParseDashboardUrl("").ok());
  EXPECT_FALSE(ParseDashboardUrl("127.0.0.1:19999").ok());
  EXPECT_FALSE(ParseDashboardUrl("http://h/#after=soon").ok());
}

TEST(NetdataTest, LinksUseTypeAndFamilyWithDotsAsUnderscores) {
  EXPECT_EQ(ChartLink("http://h:19999", "net", "eth0", -600000, 0),
            "http://h:19999/#menu_net_submenu_eth0;after=-600000;before=0");
  EXPECT_EQ(ChartLink("http://h", "disk_util.sda", "sda.1", -60000, -1000),
            "http://h/#menu_disk_util_sda_submenu_sda_1;after=-60000;before=-1000");
}

TEST(NetdataTest, TheChartsIndexGivesTypeAndFamilyPerChart) {
  auto charts = ParseChartsIndex(
      R"({"charts":{"system.cpu":{"type":"system","family":"cpu"},"net.eth0":{"type":"net","family":"eth0"},"odd":{}}})");
  ASSERT_TRUE(charts.ok()) << charts.status();
  EXPECT_EQ((*charts)["system.cpu"], std::make_pair(std::string("system"), std::string("cpu")));
  EXPECT_EQ((*charts)["net.eth0"].second, "eth0");
  EXPECT_EQ((*charts)["odd"].first, "odd");
  // The "charts" member itself (what a field /charts holds) reads the same.
  EXPECT_TRUE(ParseChartsIndex(R"({"system.cpu":{"type":"system","family":"cpu"}})").ok());
  EXPECT_FALSE(ParseChartsIndex("[1,2]").ok());
}

TEST(NetdataTest, DataRequestsCarryTheWindowInSeconds) {
  NetdataOptions options;
  options.points = 7;
  std::map<std::string, std::pair<std::string, std::string>> charts = {
      {"system.cpu", {"system", "cpu"}}};
  RankOptions rank = NetdataRankOptions(options, "http://h:19999", -600, 0, charts);
  ASSERT_EQ(rank.urls.size(), 1u);
  EXPECT_EQ(rank.urls[0],
            "system.cpu http://h:19999/api/v1/data?chart=system.cpu&points=7&after=-600&before=0");
  ASSERT_TRUE(rank.link);
  EXPECT_EQ(rank.link("system.cpu"),
            "http://h:19999/#menu_system_submenu_cpu;after=-600000;before=0");
}

}  // namespace
}  // namespace gather::client
