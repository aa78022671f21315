// Writes what tests/torch/crosscheck.py compares against PyTorch (cli.torch_crosscheck):
//
//   <dir>/resnet18.safetensors   a ResNet-18 checkpoint written by train::save_checkpoint, as the trainer
//                                writes them (model + SGD momentum state + metadata) after a
//                                training-mode pass and one SGD step, with BatchNorm weights and
//                                biases perturbed, so that evaluation exercises every term of eval-mode
//                                BatchNorm (fresh statistics would make it nearly the identity).
//   <dir>/reference.safetensors  images [8, 3, 32, 32] (F32) and labels [8] (I64) of a fixed batch;
//                                eval_logits: the ReLU model's eval-mode logits on it;
//                                then for the same weights with every activation sugar(surrogate=bsilu),
//                                one training-mode step (forward, cross-entropy, backward):
//                                sugar.loss [], sugar.logits, sugar.grad.<parameter> for every parameter,
//                                sugar.after.<buffer/counter> the BatchNorm state after that forward.
//
// usage: dump_reference <output dir>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/models/registry.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/optim/sgd.hpp"
#include "sugar/random.hpp"
#include "sugar/train/checkpoint.hpp"

namespace {

using namespace sugar;

constexpr int64_t kBatch = 8;
constexpr uint64_t kSeed = 20250528;

std::shared_ptr<nn::Module> resnet18(const std::string& activation) {
  models::ModelOptions options;
  options.name = "resnet18";
  options.activation = activation;
  options.num_classes = 10;
  options.in_channels = 3;
  options.image_size = 32;
  auto model = models::build_model(options);
  nn::initialize(*model, kSeed);
  return model;
}

// Roughly normalised CIFAR-like images: smooth per-image patterns plus counter-based noise, so every
// image, channel and pixel differs. `key` selects an independent batch.
Tensor images(const std::string& key) {
  const RandomStream rng(kSeed, "crosscheck/" + key);
  std::vector<float> values(static_cast<size_t>(kBatch * 3 * 32 * 32));
  for (size_t i = 0; i < values.size(); ++i) {
    const auto n = static_cast<double>(i / 3072), c = static_cast<double>(i / 1024 % 3);
    const auto y = static_cast<double>(i / 32 % 32), x = static_cast<double>(i % 32);
    values[i] = static_cast<float>(std::sin(0.3 * x + 0.7 * n + c) * std::cos(0.2 * y - 0.5 * c) +
                                   0.8 * rng.normal(i) + 0.1 * (n - 3.5));
  }
  return Tensor::from_vector({kBatch, 3, 32, 32}, values);
}

// A trainer-like state: BatchNorm running statistics of a no-grad training-mode pass and one SGD step
// (momentum 0.1, num_batches_tracked 2), so the checkpoint carries optimizer state too; then
// BatchNorm weights/biases moved away from 1/0.
void make_state_nontrivial(nn::Module& model, optim::Optimizer& optimizer) {
  model.train();
  {
    autograd::NoGradGuard no_grad;
    model(images("warmup0"));
  }
  const Tensor loss = ops::cross_entropy(model(images("warmup1")), {0, 1, 2, 3, 4, 5, 6, 7});
  optimizer.zero_grad();
  autograd::backward(loss);
  optimizer.step();
  optimizer.zero_grad();

  const RandomStream rng(kSeed, "crosscheck/bn-affine");
  uint64_t counter = 0;
  for (auto& [name, t] : model.named_parameters()) {
    if (name.find("bn") == std::string::npos && name.find("shortcut.1") == std::string::npos) continue;
    const bool is_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float u = rng.uniform(counter++) - 0.5f;
      p[i] = is_weight ? 1.0f + 0.6f * u : 0.4f * u;
    }
  }
}

// Tensors to write; `list` borrows bytes from the copies kept here (tensor storage and the int64
// buffers stay where they are when these vectors grow).
struct Entries {
  std::vector<io::TensorToWrite> list;
  std::vector<Tensor> keep_f32;
  std::vector<std::vector<int64_t>> keep_i64;

  // A plain f32 copy, under `shape` when given (Shape{} writes a one-element tensor as a scalar).
  void f32(const std::string& name, const Tensor& t, std::optional<Shape> shape = std::nullopt) {
    keep_f32.push_back(t.to_dtype(DType::f32).to_plain().clone());
    const Tensor& kept = keep_f32.back();
    list.push_back({name, io::StDtype::f32, shape ? *shape : kept.shape(), kept.raw_data(),
                    static_cast<size_t>(kept.numel()) * sizeof(float)});
  }
  void i64(const std::string& name, std::vector<int64_t> values, Shape shape) {
    keep_i64.push_back(std::move(values));
    list.push_back({name, io::StDtype::i64, shape, keep_i64.back().data(), keep_i64.back().size() * sizeof(int64_t)});
  }
};

int run(const std::string& dir) {
  std::filesystem::create_directories(dir);

  // ---- the checkpoint and eval-mode logits of the ReLU model ------------------------------------
  auto model = resnet18("relu");
  optim::SgdOptions sgd;
  sgd.lr = 0.05;
  sgd.momentum = 0.9;
  optim::SGD optimizer(model->parameters(), sgd);
  make_state_nontrivial(*model, optimizer);
  const std::string checkpoint = dir + "/resnet18.safetensors";
  train::save_checkpoint(checkpoint, *model, &optimizer, {{"epoch", "0"}, {"step", "1"}, {"seed", std::to_string(kSeed)}});

  const Tensor x = images("batch");
  const std::vector<int32_t> labels{3, 0, 7, 1, 9, 4, 4, 2};
  Tensor eval_logits;
  {
    autograd::NoGradGuard no_grad;
    model->eval();
    eval_logits = (*model)(x);
  }

  // ---- one SUGAR training step from the same checkpoint ----------------------------------------
  auto sugar_model = resnet18("sugar(surrogate=bsilu)");
  train::load_checkpoint(checkpoint, *sugar_model, nullptr);
  sugar_model->train();
  const Tensor logits = (*sugar_model)(x);
  const Tensor loss = ops::cross_entropy(logits, labels);
  autograd::backward(loss);

  // The order does not matter: the writer sorts names.
  Entries out;
  out.f32("images", x);
  out.i64("labels", std::vector<int64_t>(labels.begin(), labels.end()), {kBatch});
  out.f32("eval_logits", eval_logits);
  out.f32("sugar.loss", loss, Shape{});
  out.f32("sugar.logits", logits);
  for (const auto& [name, p] : sugar_model->named_parameters()) {
    SUGAR_CHECK(p.grad().defined(), "dump_reference: no gradient reached ", name);
    out.f32("sugar.grad." + name, p.grad());
  }
  for (const auto& [name, b] : sugar_model->named_buffers()) out.f32("sugar.after." + name, b);
  for (const auto& [name, c] : sugar_model->named_counters()) out.i64("sugar.after." + name, {*c}, {});
  io::write_safetensors(dir + "/reference.safetensors", out.list, {{"loss", std::to_string(loss.item())}});
  std::printf("dump_reference: wrote %s and %s/reference.safetensors (loss %.6f)\n", checkpoint.c_str(), dir.c_str(),
              static_cast<double>(loss.item()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dump_reference <output dir>\n");
    return 2;
  }
  try {
    return run(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dump_reference: %s\n", e.what());
    return 1;
  }
}
