#include "layers.hpp"

#include <stdexcept>

namespace conv_ceiling {

namespace {

// Stem, then four stages of two BasicBlocks (3x3, 3x3); the first block of stages 2-4 halves the
// side with stride 2 and has a 1x1 stride-2 projection shortcut. No bias (batch norm follows).
std::vector<ConvLayer> resnet18() {
  std::vector<ConvLayer> layers{{"conv1", 3, 64, 3, 1, 1, 32, false, true}};
  int in = 64, side = 32;
  const int widths[] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage) {
    const int out = widths[stage];
    for (int block = 0; block < 2; ++block) {
      const std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
      const int stride = stage > 0 && block == 0 ? 2 : 1;
      layers.push_back({prefix + "conv1", in, out, 3, stride, 1, side});
      const int out_side = side / stride;
      layers.push_back({prefix + "conv2", out, out, 3, 1, 1, out_side});
      if (stride != 1 || in != out) layers.push_back({prefix + "shortcut.0", in, out, 1, stride, 0, side});
      in = out;
      side = out_side;
    }
  }
  return layers;
}

// 3x3 convolutions with bias (then batch norm and ReLU), a 2x2 max-pool after each stage.
std::vector<ConvLayer> vgg16() {
  const int stages[][3] = {{64, 64, 0}, {128, 128, 0}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
  std::vector<ConvLayer> layers;
  int in = 3, side = 32, index = 0;
  for (const auto& stage : stages) {
    for (int out : stage) {
      if (out == 0) continue;
      layers.push_back({"features." + std::to_string(index), in, out, 3, 1, 1, side, true, layers.empty()});
      index += 3;  // conv, batch norm, ReLU
      in = out;
    }
    ++index;  // the max-pool
    side /= 2;
  }
  return layers;
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{"resnet18", "vgg16"};
  return names;
}

std::vector<ConvLayer> model_convolutions(const std::string& model) {
  if (model == "resnet18") return resnet18();
  if (model == "vgg16") return vgg16();
  throw std::invalid_argument("unknown model '" + model + "' (models: resnet18, vgg16)");
}

}  // namespace conv_ceiling
