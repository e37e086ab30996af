#include "service/auth/tokens.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace gather::auth {
namespace {

constexpr char kTokenA[] = "aaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kTokenB[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbb";

TEST(TokenSetTest, ParsesNamesTokensAndProfiles) {
  auto set = TokenSet::Parse(absl::StrCat("# comment\n\netl ", kTokenA, "\n",
                                          "  limited\t", kTokenB, " places-api,wiki  \n",
                                          "none cccccccccccccccccccc -\n",
                                          "all dddddddddddddddddddd *\n"));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 4u);
  const Caller* etl = set->Find(kTokenA);
  ASSERT_NE(etl, nullptr);
  EXPECT_EQ(etl->name, "etl");
  EXPECT_TRUE(etl->MayUse("anything"));
  const Caller* limited = set->Find(kTokenB);
  ASSERT_NE(limited, nullptr);
  EXPECT_EQ(limited->name, "limited");
  EXPECT_TRUE(limited->MayUse("places-api"));
  EXPECT_TRUE(limited->MayUse("wiki"));
  EXPECT_FALSE(limited->MayUse("places"));
  const Caller* none = set->Find("cccccccccccccccccccc");
  ASSERT_NE(none, nullptr);
  EXPECT_FALSE(none->MayUse("places-api"));
  EXPECT_TRUE(set->Find("dddddddddddddddddddd")->MayUse("x"));
}

TEST(TokenSetTest, RefusesWrongAndNearlyRightTokens) {
  auto set = TokenSet::Parse(absl::StrCat("etl ", kTokenA, "\n"));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->Find(""), nullptr);
  EXPECT_EQ(set->Find("aaaaaaaaaaaaaaaaaaaaaaa"), nullptr);    // one short
  EXPECT_EQ(set->Find("aaaaaaaaaaaaaaaaaaaaaaaaa"), nullptr);  // one long
  EXPECT_EQ(set->Find("aaaaaaaaaaaaaaaaaaaaaaab"), nullptr);   // last byte differs
  EXPECT_EQ(set->Find("Aaaaaaaaaaaaaaaaaaaaaaaa"), nullptr);   // case matters
  EXPECT_NE(set->Find(kTokenA), nullptr);
}

TEST(TokenSetTest, ErrorsNameTheLineAndNeverTheToken) {
  for (const char* text : {"etl\n", "a b c d\n", "etl tiny\n",
                           "x aaaaaaaaaaaaaaaaaaaaaaaa\ny aaaaaaaaaaaaaaaaaaaaaaaa\n",
                           "x aaaaaaaaaaaaaaaaaaaaaaaa\nx bbbbbbbbbbbbbbbbbbbbbbbbbbb\n"}) {
    auto set = TokenSet::Parse(text);
    ASSERT_FALSE(set.ok()) << text;
    EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(set.status().message().find("line "), absl::string_view::npos) << set.status();
    EXPECT_EQ(set.status().message().find("aaaa"), absl::string_view::npos) << set.status();
    EXPECT_EQ(set.status().message().find("bbbb"), absl::string_view::npos) << set.status();
    EXPECT_EQ(set.status().message().find("tiny"), absl::string_view::npos) << set.status();
  }
}

TEST(TokenSetTest, AddRefusesShortTokens) {
  TokenSet set;
  EXPECT_FALSE(set.Add("env", "0123456789abcde").ok());  // 15 characters
  EXPECT_TRUE(set.Add("env", "0123456789abcdef").ok());
  EXPECT_NE(set.Find("0123456789abcdef"), nullptr);
}

}  // namespace
}  // namespace gather::auth
