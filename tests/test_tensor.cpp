#include <gtest/gtest.h>

#include "sugar/error.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/tensor.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

TEST(Tensor, PlainRoundTripKeepsValues) {
  Tensor t = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(t.is_plain());
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
}

TEST(Tensor, BlockedLayoutPadsChannelsWithZeros) {
  // 5 channels in 16-lane blocks: 11 padding lanes per pixel.
  Tensor x = testkit::random_tensor({3, 5, 7, 7}, 1);
  Tensor b = x.to_desc(testkit::blocked16(x.shape()));
  EXPECT_FALSE(b.is_plain());
  EXPECT_EQ(b.padded_numel(), 3 * 16 * 7 * 7);
  EXPECT_TRUE(testkit::padding_is_zero(b));
  EXPECT_EQ(b.to_vector(), x.to_vector());
  // Element (n=1, c=2, h=3, w=4) sits at block 0, lane 2 of pixel (1, 3, 4).
  const float* raw = b.data<float>();
  EXPECT_EQ(raw[((1 * 1 + 0) * 49 + 3 * 7 + 4) * 16 + 2], x.to_vector()[((1 * 5 + 2) * 7 + 3) * 7 + 4]);
  b.fill_(2.5f);
  EXPECT_TRUE(testkit::padding_is_zero(b));
  EXPECT_EQ(b.to_vector(), std::vector<float>(x.numel(), 2.5f));
}

TEST(Tensor, Bf16ConversionRoundsToNearest) {
  Tensor t = Tensor::from_vector({3}, {1.0f, 1.00390625f, -3.140625f}, DType::bf16);
  EXPECT_EQ(t.dtype(), DType::bf16);
  EXPECT_EQ(t.bytes(), 6u);
  // 1 + 2^-8 is exactly halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to even (1.0).
  EXPECT_EQ(t.to_vector(), (std::vector<float>{1.0f, 1.0f, -3.140625f}));
}

TEST(Tensor, ReordersAreCachedPerLayoutPair) {
  Tensor x = testkit::random_tensor({2, 17, 3, 3}, 2);
  x.to_desc(testkit::blocked16(x.shape()));
  const size_t after_first = primitive_cache_size();
  x.to_desc(testkit::blocked16(x.shape()));
  EXPECT_EQ(primitive_cache_size(), after_first);
}

TEST(Tensor, CopiesShareStorageAndCloneDoesNot) {
  Tensor a = Tensor::from_vector({2}, {1, 2});
  Tensor shared = a;
  Tensor copy = a.clone();
  a.fill_(9);
  EXPECT_EQ(shared.to_vector(), (std::vector<float>{9, 9}));
  EXPECT_EQ(copy.to_vector(), (std::vector<float>{1, 2}));
}

TEST(Tensor, BadShapesRaiseSugarError) {
  EXPECT_THROW(Tensor::from_vector({2, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(Tensor::zeros({2, 0}), Error);
  EXPECT_THROW(Tensor::from_vector({4}, {1, 2, 3, 4}).reshape({3}), Error);
  EXPECT_THROW(Tensor().shape(), Error);
  try {
    Tensor::from_vector({2, 2}, {1, 2, 3});
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor: 3 values given for shape [2, 2] which holds 4");
  }
}
