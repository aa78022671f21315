// nn::count_direct_flops against FLOPs computed by hand from each layer's shape (2 x output positions x
// weight elements per pass), for a small model with stride, padding, groups and a rectangular kernel,
// and for CIFAR ResNet-18 and VGG-16 written out layer by layer here (DESIGN.md: 3.33 and 1.88 GFLOP
// per training image).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/direct_flops.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/sequential.hpp"

using namespace sugar;

namespace {

Tensor images(int64_t batch, int64_t channels, int64_t height, int64_t width) {
  std::vector<float> values(static_cast<size_t>(batch * channels * height * width));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 7) * 0.1f - 0.3f;
  return Tensor::from_vector({batch, channels, height, width}, values);
}

// A square convolution of a CIFAR model: `out` channels of side `side` computed from `in` channels
// with a k x k kernel (no groups).
struct SquareConv {
  double out, in, kernel, side;
  double flops() const { return 2 * out * side * side * in * kernel * kernel; }
};

double forward_flops(const std::vector<SquareConv>& convs, double linear_in, double linear_out) {
  double sum = 2 * linear_in * linear_out;
  for (const SquareConv& c : convs) sum += c.flops();
  return sum;
}

nn::DirectFlops count_after_training_forward(const std::string& name) {
  models::ModelOptions options;
  options.name = name;
  std::shared_ptr<nn::Module> model = models::build_model(options);
  nn::initialize(*model, 0);
  model->train(true);
  static_cast<void>((*model)(images(2, 3, 32, 32)));  // batch norm needs two images
  return nn::count_direct_flops(*model, 2);
}

TEST(DirectFlops, SmallModelMatchesHandCount) {
  // x [2, 3, 9, 7] -> conv_a (3x3, stride 2, padding 1): [2, 8, 5, 4], weight 8x3x3x3
  //                -> conv_b (1x3, groups 2): [2, 4, 5, 2], weight 4x(8/2)x1x3
  //                -> flatten (40) -> linear 40 -> 6
  auto conv_a = std::make_shared<nn::Conv2d>(3, 8, 3, /*stride=*/2, /*padding=*/1);
  ops::Conv2dOptions grouped;
  grouped.groups = 2;
  auto conv_b = std::make_shared<nn::Conv2d>(8, 4, ops::Dims2{1, 3}, grouped, /*bias=*/false);
  nn::Sequential model{conv_a, conv_b, std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(40, 6)};
  nn::initialize(model, 1);

  EXPECT_THROW(nn::count_direct_flops(model, 2), Error);  // no forward yet: nothing to count from

  static_cast<void>(model(images(2, 3, 9, 7)));
  const double conv_a_flops = 2.0 * (5 * 4) * (8 * 3 * 3 * 3);  // 8640
  const double conv_b_flops = 2.0 * (5 * 2) * (4 * 4 * 1 * 3);  // 960
  const double linear_flops = 2.0 * 40 * 6;                     // 480
  const nn::DirectFlops flops = nn::count_direct_flops(model, 2);
  EXPECT_EQ(flops.layers, 3);
  EXPECT_DOUBLE_EQ(flops.forward, conv_a_flops + conv_b_flops + linear_flops);
  // conv_a reads the images, which need no gradient.
  EXPECT_DOUBLE_EQ(flops.backward_data, conv_b_flops + linear_flops);
  EXPECT_DOUBLE_EQ(flops.backward_weights, conv_a_flops + conv_b_flops + linear_flops);
  EXPECT_DOUBLE_EQ(flops.training(), 2 * (conv_a_flops + conv_b_flops + linear_flops) + conv_b_flops + linear_flops);

  // Without autograd no input needs a gradient: no backward-data anywhere (inference).
  autograd::NoGradGuard no_grad;
  static_cast<void>(model(images(1, 3, 9, 7)));
  EXPECT_DOUBLE_EQ(nn::count_direct_flops(model, 1).backward_data, 0);
  EXPECT_DOUBLE_EQ(nn::count_direct_flops(model, 1).forward, conv_a_flops + conv_b_flops + linear_flops);
}

TEST(DirectFlops, CifarResNet18IsHandCount) {
  // kuangliu's CIFAR ResNet-18: 3x3 stem, four stages of two BasicBlocks (two 3x3 convs each); the
  // first block of stages 2-4 halves the side and adds a 1x1 projection shortcut; Linear(512, 10).
  const std::vector<SquareConv> convs{
      {64, 3, 3, 32},                                                                      // stem
      {64, 64, 3, 32},   {64, 64, 3, 32},   {64, 64, 3, 32},   {64, 64, 3, 32},            // stage 1
      {128, 64, 3, 16},  {128, 128, 3, 16}, {128, 64, 1, 16},  {128, 128, 3, 16}, {128, 128, 3, 16},
      {256, 128, 3, 8},  {256, 256, 3, 8},  {256, 128, 1, 8},  {256, 256, 3, 8},  {256, 256, 3, 8},
      {512, 256, 3, 4},  {512, 512, 3, 4},  {512, 256, 1, 4},  {512, 512, 3, 4},  {512, 512, 3, 4},
  };
  const double forward = forward_flops(convs, 512, 10);
  const double stem = convs.front().flops();
  const nn::DirectFlops flops = count_after_training_forward("resnet18");
  EXPECT_EQ(flops.layers, 21);
  EXPECT_DOUBLE_EQ(flops.forward, forward);
  EXPECT_DOUBLE_EQ(flops.backward_data, forward - stem);
  EXPECT_DOUBLE_EQ(flops.backward_weights, forward);
  EXPECT_NEAR(flops.training() / 1e9, 3.33, 0.005);  // DESIGN.md's figure
}

TEST(DirectFlops, CifarVgg16IsHandCount) {
  // VGG-16 with batch norm: 3x3 convs at sides 32, 16, 8, 4, 2 (a 2x2 max-pool between stages).
  const std::vector<SquareConv> convs{
      {64, 3, 3, 32},   {64, 64, 3, 32},                                       //
      {128, 64, 3, 16}, {128, 128, 3, 16},                                     //
      {256, 128, 3, 8}, {256, 256, 3, 8},  {256, 256, 3, 8},                   //
      {512, 256, 3, 4}, {512, 512, 3, 4},  {512, 512, 3, 4},                   //
      {512, 512, 3, 2}, {512, 512, 3, 2},  {512, 512, 3, 2},                   //
  };
  const double forward = forward_flops(convs, 512, 10);
  const nn::DirectFlops flops = count_after_training_forward("vgg16");
  EXPECT_EQ(flops.layers, 14);
  EXPECT_DOUBLE_EQ(flops.forward, forward);
  EXPECT_DOUBLE_EQ(flops.training(), 3 * forward - convs.front().flops());
  EXPECT_NEAR(flops.training() / 1e9, 1.88, 0.005);  // DESIGN.md's figure
}

}  // namespace

// vit_mini (patch 4 on 32x32: 64 patches and a class token, T = 65; width 128, MLP 256, 6 blocks of 4
// heads of d = 32; 10 classes), by hand: the patch embedding, per block the input projection (3C x C),
// the output projection (C x C), the MLP (2 x C x M) over every token and the attention (4 H T^2 d
// forward, twice that backward), and the head on the class token.
TEST(DirectFlops, VitMiniIsHandCount) {
  const double T = 65, C = 128, M = 256, H = 4, d = 32, blocks = 6;
  const double patch = 2.0 * 64 * (128 * 3 * 4 * 4);
  const double per_block_layers = 2.0 * T * (3 * C * C + C * C + 2 * C * M);
  const double attention = 4.0 * H * T * T * d;
  const double head = 2.0 * 128 * 10;
  const nn::DirectFlops flops = count_after_training_forward("vit_mini");
  EXPECT_EQ(flops.layers, 1 + 6 * 5 + 1);  // conv_proj; per block in_proj (counted with the attention), out_proj, 2 MLP linears; head
  EXPECT_DOUBLE_EQ(flops.forward, patch + blocks * (per_block_layers + attention) + head);
  EXPECT_DOUBLE_EQ(flops.backward_data, blocks * (per_block_layers + 2 * attention) + head);
  EXPECT_DOUBLE_EQ(flops.backward_weights, patch + blocks * per_block_layers + head);
}
