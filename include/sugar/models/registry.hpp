#pragma once
// The model registry: a model by name, sized for a dataset, with one activation at every site.
//
//   sugar::models::ModelOptions options;
//   options.name = "resnet18";
//   options.activation = "sugar(surrogate=bsilu)";
//   options.num_classes = 100;
//   std::shared_ptr<sugar::nn::Module> model = sugar::models::build_model(options);
//   sugar::nn::initialize(*model, seed);   // names and initial weights; required before forward
//
// Initial weights depend only on the seed and the parameter names, never on the activation, so runs
// that differ only in their activation start from the same weights.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sugar/activations/spec.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/init.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::models {

struct ModelOptions {
  std::string name = "resnet18";  // one of model_names()
  std::string activation = "relu";  // the activation spec text (activations/spec.hpp), or kDesignActivation
  int64_t num_classes = 10;
  int64_t in_channels = 3;  // 3 for CIFAR, 1 for (Fashion-)MNIST
  int64_t image_size = 32;  // side of the square images
  bool batch_norm = true;   // vgg*: BatchNorm2d after each conv; resnets always have it (false is an error)
  // How every convolution (and, under trunc_normal, every linear layer) is initialised (nn/init.hpp).
  // VGG's convolutions have a bias (as in the CIFAR reference code), ResNet's do not.
  nn::init::ConvInit init = nn::init::ConvInit::pytorch_default;
};

// A model's builder: the module for `options` (options.name is the model's own), not yet initialised.
using ModelBuilder = std::function<std::shared_ptr<nn::Module>(const ModelOptions& options)>;

// Adds a model for every later build_model and config (model.name) of this process, as
// register_activation_module does for activations. Thread-safe. Throws sugar::Error (usage) when the
// name is not a word of [a-z0-9_] (1-64 bytes) or is taken, or the builder is empty.
void register_model(const std::string& name, ModelBuilder builder);

// The built-in models {"resnet18", "resnet34", "vgg11", "vgg13", "vgg16", "vgg19", "convnext_atto",
// "convnext_femto", "convnext_tiny", "mobilenetv3_small", "mobilenetv3_large", "vit_tiny",
// "vit_mini", "swin_tiny", "swin_mini"}, then the registered ones in the order they were registered.
std::vector<std::string> model_names();

// The initialisation a model family is defined with, what model.init takes when a config does not set
// it: pytorch_default for VGG and ResNet (the CIFAR reference code), trunc_normal for ConvNeXt,
// torchvision_mobilenet for MobileNetV3, torchvision for ViT and Swin (torchvision's own init of those
// classes, models/vit.hpp, models/swin.hpp); a registered model's is pytorch_default.
nn::init::ConvInit default_init(const std::string& name);

// model.activation's word for "the activations the model was designed with": the one spec of a family
// that has one (what default_activation gives), or, for MobileNetV3, which mixes them, each site's own.
inline constexpr const char* kDesignActivation = "design";

// The activation a model family is designed with, what model.activation takes when a config does not
// set it: relu for VGG and ResNet, gelu for ConvNeXt, ViT and Swin, kDesignActivation for MobileNetV3 (ReLU and
// hardswish where the design puts them); a registered model's is relu.
std::string default_activation(const std::string& name);

// `activation` with kDesignActivation replaced by the model's own spec (default_activation), which is
// still kDesignActivation for a model that mixes activations; any other spec is returned as given.
// The one place `design` is resolved: configs (when they load) and build_model both ask it.
std::string resolve_design_activation(const std::string& name, const std::string& activation);

// What a built-in model cannot take, checked without building it (a config checks it when it loads):
// images smaller than its downsampling allows (`option` "image_size"), or batch_norm false for a
// family whose blocks include their normalisation ("batch_norm"). Null when the options fit, and for
// a registered model (its builder checks its own). (An unknown name is build_model's to report.)
struct OptionProblem {
  std::string option;  // "image_size" or "batch_norm"
  std::string what;    // "vgg16 needs images of at least 32x32, got 28x28"
};
std::optional<OptionProblem> option_problem(const ModelOptions& options);

// Builds the model, not yet initialised (call nn::initialize). Throws sugar::Error (usage) for an
// unknown name (listing the nearest names and all names), a bad activation spec, or an invalid size.
std::shared_ptr<nn::Module> build_model(const ModelOptions& options);

}  // namespace sugar::models
