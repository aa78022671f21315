#include "sugar/models/registry.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "sugar/activations/registry.hpp"
#include "sugar/error.hpp"
#include "sugar/models/convnext.hpp"
#include "sugar/models/mobilenetv3.hpp"
#include "sugar/models/resnet.hpp"
#include "sugar/models/vgg.hpp"
#include "sugar/models/swin.hpp"
#include "sugar/models/vit.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/text.hpp"

namespace sugar::models {

namespace {

// Before nn::initialize: each convolution and linear layer draws its initial weights from the scheme
// set here.
std::shared_ptr<nn::Module> with_init(std::shared_ptr<nn::Module> model, nn::init::ConvInit init) {
  for (const auto& [name, module] : model->named_modules()) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module)) conv->set_init(init);
    if (auto* linear = dynamic_cast<nn::Linear*>(module)) linear->set_init(init);
  }
  return model;
}

// The fields every family's options share (activation, classes, input channels, image size), from the model
// options, written into `family` (a size's own options, such as convnext_size(name)).
template <class FamilyOptions>
FamilyOptions sized_for(const ModelOptions& options, FamilyOptions family = {}) {
  // `design`: the family's own spec, or, where the design mixes activations, an undefined spec.
  const std::string spec = resolve_design_activation(options.name, options.activation);
  if (spec != kDesignActivation) family.activation = activations::ActivationSpec::parse(spec);
  family.num_classes = options.num_classes;
  family.in_channels = options.in_channels;
  family.image_size = options.image_size;
  return family;
}

std::shared_ptr<nn::Module> build_vgg(const ModelOptions& options) {
  VggOptions vgg = sized_for<VggOptions>(options);
  vgg.layers = vgg_layers(options.name);
  vgg.batch_norm = options.batch_norm;
  return std::make_shared<VGG>(vgg);
}

std::shared_ptr<nn::Module> build_resnet(const ModelOptions& options) {
  ResNetOptions resnet = sized_for<ResNetOptions>(options);
  resnet.blocks = resnet_blocks(options.name);
  return std::make_shared<ResNet>(resnet);
}

std::shared_ptr<nn::Module> build_convnext(const ModelOptions& options) {
  return std::make_shared<ConvNeXt>(sized_for(options, convnext_size(options.name)));
}

std::shared_ptr<nn::Module> build_mobilenetv3(const ModelOptions& options) {
  return std::make_shared<MobileNetV3>(sized_for(options, mobilenetv3_size(options.name)));
}

std::shared_ptr<nn::Module> build_vit(const ModelOptions& options) {
  ViTOptions vit = sized_for(options, vit_size(options.name));
  vit.init = options.init;  // the model's own init runs where torchvision's does (reset_after_children)
  return std::make_shared<VisionTransformer>(vit);
}

std::shared_ptr<nn::Module> build_swin(const ModelOptions& options) {
  SwinOptions swin = sized_for(options, swin_size(options.name));
  swin.init = options.init;
  return std::make_shared<SwinTransformer>(swin);
}

// What each family cannot take (option_problem). The smallest sides come from the families' own
// headers, which their constructors check too.
std::optional<OptionProblem> family_problem(const ModelOptions& options) {
  const std::string& name = options.name;
  const auto starts = [&](const char* prefix) { return name.rfind(prefix, 0) == 0; };
  int64_t min_side = 1;
  std::string normalised_by;  // non-empty: batch norm cannot be turned off
  if (starts("vgg")) {
    min_side = vgg_min_image_size(vgg_layers(name));
  } else if (starts("resnet")) {
    normalised_by = "BatchNorm is part of every ResNet block";
  } else if (starts("convnext")) {
    min_side = convnext_min_image_size();
    normalised_by = "ConvNeXt has layer norms";
  } else if (starts("mobilenetv3")) {
    normalised_by = "batch norm is part of MobileNetV3";
  } else if (starts("swin_")) {
    normalised_by = "Swin has layer norms";
    const int64_t unit = 8 * swin_size(name).patch;  // three 2x2 mergings of patch x patch tokens
    if (options.batch_norm && options.image_size % unit != 0)
      return OptionProblem{"image_size", name + " needs images whose side is a multiple of " + std::to_string(unit) +
                                             " (8 patches), got " + std::to_string(options.image_size) + "x" +
                                             std::to_string(options.image_size)};
  } else if (starts("vit_")) {
    normalised_by = "ViT has layer norms";
    const int64_t patch = vit_size(name).patch;
    if (options.batch_norm && (options.image_size < patch || options.image_size % patch != 0))
      return OptionProblem{"image_size", name + " needs images whose side is a multiple of its " +
                                             std::to_string(patch) + "x" + std::to_string(patch) + " patches, got " +
                                             std::to_string(options.image_size) + "x" +
                                             std::to_string(options.image_size)};
    // Attention holds [heads, T, T] scores per image (ops/attention.hpp): at most a 32x32 patch grid
    // (T = 1025, 4 MB per head and image in f32), not the gigabytes per image of 256x256 images.
    constexpr int64_t kMaxPatchSide = 32;
    if (options.batch_norm && options.image_size / patch > kMaxPatchSide)
      return OptionProblem{"image_size", name + " takes at most " + std::to_string(kMaxPatchSide * patch) + "x" +
                                             std::to_string(kMaxPatchSide * patch) + " images (" +
                                             std::to_string(kMaxPatchSide) + "x" + std::to_string(kMaxPatchSide) +
                                             " patches: attention's memory grows with the square of the tokens), got " +
                                             std::to_string(options.image_size) + "x" +
                                             std::to_string(options.image_size)};
  } else {
    return std::nullopt;
  }
  if (!options.batch_norm && !normalised_by.empty())
    return OptionProblem{"batch_norm", "false is for vgg models only (" + normalised_by + ")"};
  if (options.image_size < min_side)
    return OptionProblem{"image_size", name + " needs images of at least " + std::to_string(min_side) + "x" +
                                           std::to_string(min_side) + ", got " + std::to_string(options.image_size) +
                                           "x" + std::to_string(options.image_size)};
  return std::nullopt;
}

struct ModelEntry {
  std::string name;
  ModelBuilder builder;
  nn::init::ConvInit default_init = nn::init::ConvInit::pytorch_default;
  std::string default_activation = "relu";
};

// The builders by name, in registration order; the built-in ones first.
struct ModelTable {
  std::mutex mutex;
  std::vector<ModelEntry> builders{
      {"resnet18", build_resnet}, {"resnet34", build_resnet}, {"vgg11", build_vgg},
      {"vgg13", build_vgg},       {"vgg16", build_vgg},       {"vgg19", build_vgg},
      {"convnext_atto", build_convnext, nn::init::ConvInit::trunc_normal, "gelu"},
      {"convnext_femto", build_convnext, nn::init::ConvInit::trunc_normal, "gelu"},
      {"convnext_tiny", build_convnext, nn::init::ConvInit::trunc_normal, "gelu"},
      {"mobilenetv3_small", build_mobilenetv3, nn::init::ConvInit::torchvision_mobilenet, kDesignActivation},
      {"mobilenetv3_large", build_mobilenetv3, nn::init::ConvInit::torchvision_mobilenet, kDesignActivation},
      {"vit_tiny", build_vit, nn::init::ConvInit::torchvision, "gelu"},
      {"vit_mini", build_vit, nn::init::ConvInit::torchvision, "gelu"},
      {"swin_tiny", build_swin, nn::init::ConvInit::torchvision, "gelu"},
      {"swin_mini", build_swin, nn::init::ConvInit::torchvision, "gelu"}};
  const size_t builtin_count = builders.size();  // register_model appends after these
};

ModelTable& model_table() {
  static ModelTable* table = new ModelTable;  // never destroyed: registrations may outlive main's statics
  return *table;
}

bool is_model_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
}

}  // namespace

void register_model(const std::string& name, ModelBuilder builder) {
  if (!is_model_name(name))
    usage_error("register_model: '" + name + "' is not a model name (1-64 characters of a-z, 0-9 and _)");
  if (!builder) usage_error("register_model: the builder of '" + name + "' is empty");
  ModelTable& table = model_table();
  std::lock_guard lock(table.mutex);
  for (const auto& entry : table.builders)
    if (entry.name == name) usage_error("register_model: there is already a model called '" + name + "'");
  table.builders.push_back({name, std::move(builder)});
}

std::string resolve_design_activation(const std::string& name, const std::string& activation) {
  return activation == kDesignActivation ? default_activation(name) : activation;
}

std::optional<OptionProblem> option_problem(const ModelOptions& options) {
  {
    ModelTable& table = model_table();
    std::lock_guard lock(table.mutex);
    for (size_t i = table.builtin_count; i < table.builders.size(); ++i)
      if (table.builders[i].name == options.name) return std::nullopt;  // registered: its builder checks
  }
  return family_problem(options);
}

std::vector<std::string> model_names() {
  ModelTable& table = model_table();
  std::lock_guard lock(table.mutex);
  std::vector<std::string> names;
  for (const auto& entry : table.builders) names.push_back(entry.name);
  return names;
}

std::shared_ptr<nn::Module> build_model(const ModelOptions& options) {
  ModelBuilder builder;
  {
    ModelTable& table = model_table();
    std::lock_guard lock(table.mutex);
    for (const auto& entry : table.builders)
      if (entry.name == options.name) builder = entry.builder;
  }
  if (!builder) {
    const std::vector<std::string> names = model_names();
    usage_error("unknown model '" + options.name + "'; did you mean " +
                text::join(text::nearest(options.name, names, 3)) + "? (models: " + text::join(names) + ")");
  }
  if (const auto problem = option_problem(options))
    usage_error("model " + options.name + ": " + problem->option + " " + problem->what);
  std::shared_ptr<nn::Module> model = builder(options);
  SUGAR_CHECK(model != nullptr, "build_model: the builder of ", options.name, " returned no module");
  return with_init(std::move(model), options.init);
}

nn::init::ConvInit default_init(const std::string& name) {
  ModelTable& table = model_table();
  std::lock_guard lock(table.mutex);
  for (const auto& entry : table.builders)
    if (entry.name == name) return entry.default_init;
  return nn::init::ConvInit::pytorch_default;
}

std::string default_activation(const std::string& name) {
  ModelTable& table = model_table();
  std::lock_guard lock(table.mutex);
  for (const auto& entry : table.builders)
    if (entry.name == name) return entry.default_activation;
  return "relu";
}

}  // namespace sugar::models
