// sugar/text.hpp: joining names and the "did you mean" suggestions every error message shares.
// Expected values are worked out by hand (edit distances counted edit by edit).
#include <gtest/gtest.h>

#include "sugar/text.hpp"

namespace {
using namespace sugar;

TEST(Text, JoinPutsTheSeparatorBetweenItemsOnly) {
  EXPECT_EQ(text::join({}), "");
  EXPECT_EQ(text::join({"a"}), "a");
  EXPECT_EQ(text::join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(text::join({"lr", "momentum"}, " or "), "lr or momentum");
}

TEST(Text, EditDistanceCountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(text::edit_distance("kitten", "sitting"), 3u);  // k->s, e->i, +g
  EXPECT_EQ(text::edit_distance("", "abc"), 3u);
  EXPECT_EQ(text::edit_distance("abc", ""), 3u);
  EXPECT_EQ(text::edit_distance("lrr", "lr"), 1u);
  EXPECT_EQ(text::edit_distance("modle", "model"), 2u);  // not a transposition: two substitutions
  EXPECT_EQ(text::edit_distance("ReLU", "relu"), 3u);    // case-sensitive
}

TEST(Text, PlausibleMisspellingsAreTheNearestWithinAThirdOfTheLetters) {
  const std::vector<std::string> keys{"lr", "momentum", "weight_decay", "nesterov", "name"};
  EXPECT_EQ(text::plausible_misspellings("lrr", keys), (std::vector<std::string>{"lr"}));
  EXPECT_EQ(text::plausible_misspellings("momentun", keys), (std::vector<std::string>{"momentum"}));
  // "mom" abbreviates momentum: one edit, as near as "name" is to "nam" would be.
  EXPECT_EQ(text::plausible_misspellings("mom", keys), (std::vector<std::string>{"momentum"}));
  // Nothing near enough: a third of 9 letters is 3 edits, and "batchsize" is further from every key.
  EXPECT_TRUE(text::plausible_misspellings("batchsize", keys).empty());
  // Ties: every candidate at the best distance, at most three, in the candidates' order.
  EXPECT_EQ(text::plausible_misspellings("ab", {"ax", "xb", "ay", "yb"}), (std::vector<std::string>{"ax", "xb", "ay"}));
}

TEST(Text, DidYouMeanIsASuffixOrNothing) {
  EXPECT_EQ(text::did_you_mean("lrr", {"lr", "momentum"}), "; did you mean lr?");
  EXPECT_EQ(text::did_you_mean("ab", {"ax", "xb"}), "; did you mean ax or xb?");
  EXPECT_EQ(text::did_you_mean("batchsize", {"lr", "momentum"}), "");
}

TEST(Text, NearestListsTheClosestHoweverFarWithTiesInTheCandidatesOrder) {
  const std::vector<std::string> models{"resnet18", "resnet34", "vgg11", "vgg13", "vgg16", "vgg19"};
  EXPECT_EQ(text::nearest("vgg", models, 3), (std::vector<std::string>{"vgg11", "vgg13", "vgg16"}));
  EXPECT_EQ(text::nearest("resnet50", models, 2), (std::vector<std::string>{"resnet18", "resnet34"}));
  EXPECT_EQ(text::nearest("x", {"b", "a"}, 5), (std::vector<std::string>{"b", "a"}));
}

}  // namespace
