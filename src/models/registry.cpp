#include "sugar/models/registry.hpp"

#include <algorithm>

#include "sugar/activations/registry.hpp"
#include "sugar/error.hpp"
#include "sugar/models/resnet.hpp"
#include "sugar/models/vgg.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/text.hpp"

namespace sugar::models {

namespace {

bool is_vgg(const std::string& name) { return name.rfind("vgg", 0) == 0; }

// Before nn::initialize: each convolution draws its initial weights from the scheme set here.
std::shared_ptr<nn::Module> with_conv_init(std::shared_ptr<nn::Module> model, nn::init::ConvInit init) {
  for (const auto& [name, module] : model->named_modules())
    if (auto* conv = dynamic_cast<nn::Conv2d*>(module)) conv->set_init(init);
  return model;
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{"resnet18", "resnet34", "vgg11", "vgg13", "vgg16", "vgg19"};
  return names;
}

std::shared_ptr<nn::Module> build_model(const ModelOptions& options) {
  const std::vector<std::string>& names = model_names();
  if (std::find(names.begin(), names.end(), options.name) == names.end())
    usage_error("unknown model '" + options.name + "'; did you mean " + text::join(text::nearest(options.name, model_names(), 3)) +
                "? (models: " + text::join(names) + ")");
  const activations::ActivationSpec activation = activations::ActivationSpec::parse(options.activation);
  if (is_vgg(options.name)) {
    VggOptions vgg;
    vgg.layers = vgg_layers(options.name);
    vgg.activation = activation;
    vgg.num_classes = options.num_classes;
    vgg.in_channels = options.in_channels;
    vgg.image_size = options.image_size;
    vgg.batch_norm = options.batch_norm;
    return with_conv_init(std::make_shared<VGG>(vgg), options.init);
  }
  if (!options.batch_norm)
    usage_error("model " + options.name +
                ": batch_norm false is for vgg models only (BatchNorm is part of every ResNet block)");
  ResNetOptions resnet;
  resnet.blocks = resnet_blocks(options.name);
  resnet.activation = activation;
  resnet.num_classes = options.num_classes;
  resnet.in_channels = options.in_channels;
  resnet.image_size = options.image_size;
  return with_conv_init(std::make_shared<ResNet>(resnet), options.init);
}

}  // namespace sugar::models
