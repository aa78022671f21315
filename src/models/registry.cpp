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

// What each family cannot take (option_problem): a check per family, beside its builder in the table.
// The smallest sides come from the families' own headers, which their constructors check too.
std::string side_text(int64_t side) { return std::to_string(side) + "x" + std::to_string(side); }

std::optional<OptionProblem> keeps_its_norms(const ModelOptions& o, const char* why) {
  if (o.batch_norm) return std::nullopt;
  return OptionProblem{"batch_norm", std::string("false is for vgg models only (") + why + ")"};
}

std::optional<OptionProblem> at_least(const ModelOptions& o, int64_t side) {
  if (o.image_size >= side) return std::nullopt;
  return OptionProblem{"image_size",
                       o.name + " needs images of at least " + side_text(side) + ", got " + side_text(o.image_size)};
}

std::optional<OptionProblem> check_vgg(const ModelOptions& o) {
  return at_least(o, vgg_min_image_size(vgg_layers(o.name)));
}

std::optional<OptionProblem> check_resnet(const ModelOptions& o) {
  return keeps_its_norms(o, "BatchNorm is part of every ResNet block");
}

std::optional<OptionProblem> check_convnext(const ModelOptions& o) {
  if (auto problem = keeps_its_norms(o, "ConvNeXt has layer norms")) return problem;
  return at_least(o, convnext_min_image_size());
}

std::optional<OptionProblem> check_mobilenetv3(const ModelOptions& o) {
  return keeps_its_norms(o, "batch norm is part of MobileNetV3");
}

std::optional<OptionProblem> check_vit(const ModelOptions& o) {
  if (auto problem = keeps_its_norms(o, "ViT has layer norms")) return problem;
  const int64_t patch = vit_size(o.name).patch;
  if (o.image_size < patch || o.image_size % patch != 0)
    return OptionProblem{"image_size", o.name + " needs images whose side is a multiple of its " + side_text(patch) +
                                           " patches, got " + side_text(o.image_size)};
  // Attention holds [heads, T, T] scores per image (ops/attention.hpp): at most a 32x32 patch grid
  // (T = 1025, 4 MB per head and image in f32), not the gigabytes per image of 256x256 images.
  constexpr int64_t kMaxPatchSide = 32;
  if (o.image_size / patch > kMaxPatchSide)
    return OptionProblem{"image_size", o.name + " takes at most " + side_text(kMaxPatchSide * patch) + " images (" +
                                           side_text(kMaxPatchSide) +
                                           " patches: attention's memory grows with the square of the tokens), got " +
                                           side_text(o.image_size)};
  return std::nullopt;
}

std::optional<OptionProblem> check_swin(const ModelOptions& o) {
  if (auto problem = keeps_its_norms(o, "Swin has layer norms")) return problem;
  const int64_t unit = 8 * swin_size(o.name).patch;  // three 2x2 mergings of patch x patch tokens
  if (o.image_size % unit != 0)
    return OptionProblem{"image_size", o.name + " needs images whose side is a multiple of " + std::to_string(unit) +
                                           " (8 patches), got " + side_text(o.image_size)};
  return std::nullopt;
}

using OptionCheck = std::optional<OptionProblem> (*)(const ModelOptions&);

struct ModelEntry {
  std::string name;
  ModelBuilder builder;
  nn::init::ConvInit default_init = nn::init::ConvInit::pytorch_default;
  std::string default_activation = "relu";
  OptionCheck check = nullptr;  // what the family cannot take; none for a registered model (its builder checks)
};

// The builders by name, in registration order; the built-in ones first.
struct ModelTable {
  std::mutex mutex;
  std::vector<ModelEntry> builders{
      {"resnet18", build_resnet, nn::init::ConvInit::pytorch_default, "relu", check_resnet},
      {"resnet34", build_resnet, nn::init::ConvInit::pytorch_default, "relu", check_resnet},
      {"vgg11", build_vgg, nn::init::ConvInit::pytorch_default, "relu", check_vgg},
      {"vgg13", build_vgg, nn::init::ConvInit::pytorch_default, "relu", check_vgg},
      {"vgg16", build_vgg, nn::init::ConvInit::pytorch_default, "relu", check_vgg},
      {"vgg19", build_vgg, nn::init::ConvInit::pytorch_default, "relu", check_vgg},
      {"convnext_atto", build_convnext, nn::init::ConvInit::trunc_normal, "gelu", check_convnext},
      {"convnext_femto", build_convnext, nn::init::ConvInit::trunc_normal, "gelu", check_convnext},
      {"convnext_tiny", build_convnext, nn::init::ConvInit::trunc_normal, "gelu", check_convnext},
      {"mobilenetv3_small", build_mobilenetv3, nn::init::ConvInit::torchvision_mobilenet, kDesignActivation,
       check_mobilenetv3},
      {"mobilenetv3_large", build_mobilenetv3, nn::init::ConvInit::torchvision_mobilenet, kDesignActivation,
       check_mobilenetv3},
      {"vit_tiny", build_vit, nn::init::ConvInit::torchvision, "gelu", check_vit},
      {"vit_mini", build_vit, nn::init::ConvInit::torchvision, "gelu", check_vit},
      {"swin_tiny", build_swin, nn::init::ConvInit::torchvision, "gelu", check_swin},
      {"swin_mini", build_swin, nn::init::ConvInit::torchvision, "gelu", check_swin}};
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
  OptionCheck check = nullptr;
  {
    ModelTable& table = model_table();
    std::lock_guard lock(table.mutex);
    for (const auto& entry : table.builders)
      if (entry.name == options.name) check = entry.check;
  }
  return check ? check(options) : std::nullopt;
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
