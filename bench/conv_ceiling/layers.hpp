#pragma once
// The convolutions of CIFAR ResNet-18 and VGG-16 (kuangliu/pytorch-cifar, as Sugar and
// scripts/bench_pytorch.py build them), written out here so that conv_ceiling needs nothing of Sugar.
#include <string>
#include <vector>

namespace conv_ceiling {

struct ConvLayer {
  std::string name;  // PyTorch's module path ("layer2.0.shortcut.0")
  int in_channels = 0;
  int out_channels = 0;
  int kernel = 0;  // square
  int stride = 1;
  int padding = 0;
  int in_side = 0;  // square input
  bool bias = false;
  // The model's first layer reads the images, which need no gradient: no backward-data pass.
  bool first = false;

  int out_side() const { return (in_side + 2 * padding - kernel) / stride + 1; }
  // One pass (forward, backward-data or backward-weights) of one image, 2 FLOPs per multiply-add.
  double flops_per_image_pass() const {
    return 2.0 * out_channels * out_side() * out_side() * in_channels * kernel * kernel;
  }
};

// "resnet18", "vgg16".
const std::vector<std::string>& model_names();
// The model's convolutions in forward order. Throws std::invalid_argument for another name.
std::vector<ConvLayer> model_convolutions(const std::string& model);

}  // namespace conv_ceiling
