#include "service/config/config.h"

#include "gtest/gtest.h"

namespace gather::config {
namespace {

TEST(LoadConfigTest, EngineThreadsDefaultFromTheCpusAndFitTheCaps) {
  Flags flags;
  auto config = LoadConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_GE(config->engine_threads, 1);
  EXPECT_LE(config->engine_threads, kMaxAutoEngineThreads);

  flags.engine_threads = 8;
  flags.max_per_host = 3;  // every loop needs at least one transfer to a host
  config = LoadConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->engine_threads, 3);

  flags.engine_threads = -1;
  config = LoadConfig(flags);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("--engine_threads"), std::string::npos);
}

}  // namespace
}  // namespace gather::config
