// Writes what tests/torch/crosscheck_models.py compares against torchvision's own model classes
// (cli.torch_models), for one model of the registry:
//
//   <dir>/<model>.safetensors    the model's state as train::save_checkpoint writes it; the
//                                initial weights with every layer_scale and LayerNorm weight and bias
//                                moved away from its constant start (layer_scale 1e-6 would hide the
//                                blocks' branches from the logits)
//   <dir>/<model>.reference.safetensors
//                                images [4, 3, 32, 32] and labels [4] (I64);
//                                eval_logits; default.loss, default.grad.<parameter>: one training-mode
//                                forward and backward with the model's own activations (ConvNeXt's GELU,
//                                MobileNetV3's design); sugar.loss, sugar.grad.<parameter>: the same with
//                                every activation site sugar(surrogate=bsilu)
//
// usage: dump_model <output dir> <model name>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/drop_path.hpp"
#include "sugar/nn/dropout.hpp"
#include "sugar/nn/layer_norm.hpp"
#include "sugar/ops/attention.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/random.hpp"
#include "sugar/train/checkpoint.hpp"

namespace {

using namespace sugar;

constexpr int64_t kBatch = 4;
constexpr uint64_t kSeed = 20251206;  // keeps every ReLU/hardswish input 1e-6 or more from a kink (crosscheck_models.py)

// The model as the registry builds it, except that dropout (MobileNetV3's classifier) and stochastic
// depth (Swin's) are 0: a training step must compute the same thing on both sides, and the two
// libraries draw different masks.
std::shared_ptr<nn::Module> build(const std::string& name, const std::string& activation) {
  models::ModelOptions options;
  options.name = name;
  options.activation = activation;
  options.init = models::default_init(name);
  std::shared_ptr<nn::Module> model = models::build_model(options);
  for (auto& [path, module] : model->named_modules()) {
    if (auto* dropout = dynamic_cast<nn::Dropout*>(module)) dropout->set_p(0.0f);
    if (auto* drop_path = dynamic_cast<nn::DropPath*>(module)) drop_path->set_p(0.0f);
  }
  nn::initialize(*model, kSeed);
  return model;
}

// Every parameter and statistic that starts as a constant (layer_scale, LayerNorm and BatchNorm weight
// and bias, running statistics, ViT's head, class token and attention biases) gets distinct values of a
// useful size: layer_scale in [0.2, 0.6], norm weights in [0.7, 1.3], biases, tokens and running means
// in [-0.2, 0.2], running variances in [0.5, 1.5], ViT's head weight in [-0.1, 0.1].
void spread_constants(nn::Module& model) {
  const RandomStream rng(kSeed, "crosscheck/constants");
  uint64_t counter = 0;
  const auto fill = [&](const Tensor& t, float low, float high) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = low + (high - low) * rng.uniform(counter++);
    t.bump_version();
  };
  for (auto& [path, module] : model.named_modules()) {
    if (auto* norm = dynamic_cast<nn::LayerNorm*>(module)) {
      fill(norm->weight(), 0.7f, 1.3f);
      fill(norm->bias(), -0.2f, 0.2f);
    }
    // Batch norms too, running statistics included, so that evaluation exercises every term.
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(module)) {
      fill(bn->weight(), 0.7f, 1.3f);
      fill(bn->bias(), -0.2f, 0.2f);
      fill(bn->running_mean(), -0.2f, 0.2f);
      fill(bn->running_var(), 0.5f, 1.5f);
    }
  }
  for (auto& [name, t] : model.named_parameters()) {
    if (name.find("layer_scale") != std::string::npos) fill(t, 0.2f, 0.6f);
    // ViT's zero head would give every other parameter a zero gradient; its zero class token and
    // attention biases would leave those terms untested.
    if (name == "heads.head.weight") fill(t, -0.1f, 0.1f);
    if (name == "class_token" || name.find("in_proj_bias") != std::string::npos ||
        name.find("out_proj.bias") != std::string::npos || name == "heads.head.bias")
      fill(t, -0.2f, 0.2f);
  }
}

Tensor images() {
  const RandomStream rng(kSeed, "crosscheck/images");
  std::vector<float> values(static_cast<size_t>(kBatch * 3 * 32 * 32));
  for (size_t i = 0; i < values.size(); ++i) {
    const auto n = static_cast<double>(i / 3072), x = static_cast<double>(i % 32), y = static_cast<double>(i / 32 % 32);
    values[i] = static_cast<float>(std::sin(0.3 * x + 0.7 * n) * std::cos(0.2 * y) + 0.8 * rng.normal(i));
  }
  return Tensor::from_vector({kBatch, 3, 32, 32}, values);
}

struct Entries {
  std::vector<io::TensorToWrite> list;
  std::vector<Tensor> keep;
  std::vector<std::vector<int64_t>> keep_i64;
  void f32(const std::string& name, const Tensor& t) {
    keep.push_back(t.to_dtype(DType::f32).to_plain().clone());
    const Tensor& k = keep.back();
    list.push_back({name, io::StDtype::f32, k.shape(), k.raw_data(), static_cast<size_t>(k.numel()) * sizeof(float)});
  }
};

// One training-mode forward and backward on (x, labels): the loss and every parameter's gradient.
void training_step(nn::Module& model, const Tensor& x, const std::vector<int32_t>& labels, const std::string& prefix,
                   Entries& out) {
  model.train();
  const Tensor loss = ops::cross_entropy(model(x), labels);
  autograd::backward(loss);
  out.f32(prefix + ".loss", loss);
  for (auto& [name, p] : model.named_parameters()) out.f32(prefix + ".grad." + name, p.grad());
}

// ops::attention on its own, for an explicit softmax(q k^T / sqrt(d) + bias + mask) v in PyTorch: random
// q, k, v [4, 2, 9, 5], a bias [2, 9, 9] and a mask [2, 9, 9] of 0 and -100 (batch b reads mask b % 2),
// the output and the gradients of sum(r * out) for a fixed random r.
int dump_attention(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const RandomStream rng(kSeed, "crosscheck/attention");
  uint64_t counter = 0;
  const auto random = [&](const Shape& shape, double scale) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> values(static_cast<size_t>(n));
    for (float& v : values) v = static_cast<float>(scale * rng.normal(counter++));
    Tensor t = Tensor::from_vector(shape, values);
    t.set_requires_grad(true);
    return t;
  };
  const Tensor q = random({4, 2, 9, 5}, 1.0), k = random({4, 2, 9, 5}, 1.0), v = random({4, 2, 9, 5}, 1.0);
  const Tensor bias = random({2, 9, 9}, 0.5), r = random({4, 2, 9, 5}, 1.0).detach();
  std::vector<float> mask_values(2 * 81, 0.0f);
  for (int64_t i = 0; i < 9; ++i)
    for (int64_t j = 0; j < 9; ++j)
      if ((i % 3 == 0) != (j % 3 == 0)) mask_values[81 + i * 9 + j] = -100.0f;  // window 1 masks two regions apart
  const Tensor mask = Tensor::from_vector({2, 9, 9}, mask_values);
  ops::AttentionOptions options;
  options.bias = bias;
  options.mask = mask;
  const Tensor out = ops::attention(q, k, v, options);
  // L = sum(r * out): its gradient with respect to out is r.
  autograd::backward(out, r);
  Entries entries;
  for (const auto& [name, t] : {std::pair{"q", q}, std::pair{"k", k}, std::pair{"v", v}, std::pair{"bias", bias},
                                std::pair{"mask", mask}, std::pair{"r", r}, std::pair{"out", out}})
    entries.f32(name, t);
  for (const auto& [name, t] : {std::pair{"q", q}, std::pair{"k", k}, std::pair{"v", v}, std::pair{"bias", bias}})
    entries.f32(std::string("grad.") + name, t.grad());
  io::write_safetensors(dir + "/attention.reference.safetensors", entries.list);
  std::printf("dump_model: wrote %s/attention.reference.safetensors\n", dir.c_str());
  return 0;
}

int run(const std::string& dir, const std::string& name) {
  if (name == "attention") return dump_attention(dir);
  std::filesystem::create_directories(dir);
  auto model = build(name, models::default_activation(name));
  spread_constants(*model);
  const std::string checkpoint = dir + "/" + name + ".safetensors";
  train::save_checkpoint(checkpoint, *model, nullptr, {{"seed", std::to_string(kSeed)}});

  Entries out;
  const Tensor x = images();
  const std::vector<int32_t> labels{3, 0, 7, 1};
  out.f32("images", x);
  out.keep_i64.push_back({nn::count_parameters(*model)});
  out.list.push_back({"parameters", io::StDtype::i64, {}, out.keep_i64.back().data(), sizeof(int64_t)});
  out.keep_i64.push_back({3, 0, 7, 1});
  out.list.push_back({"labels", io::StDtype::i64, {kBatch}, out.keep_i64.back().data(), kBatch * sizeof(int64_t)});
  {
    autograd::NoGradGuard no_grad;
    model->eval();
    out.f32("eval_logits", (*model)(x));
  }
  training_step(*model, x, labels, "default", out);

  auto sugar_model = build(name, "sugar(surrogate=bsilu)");
  train::load_checkpoint(checkpoint, *sugar_model, nullptr);
  training_step(*sugar_model, x, labels, "sugar", out);
  io::write_safetensors(dir + "/" + name + ".reference.safetensors", out.list);
  std::printf("dump_model: wrote %s and %s.reference.safetensors\n", checkpoint.c_str(), name.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: dump_model <output dir> <model name | attention>\n");
    return 2;
  }
  try {
    return run(argv[1], argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump_model: %s\n", e.what());
    return 1;
  }
}
