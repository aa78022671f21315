// Measuring a model's convolution algorithm choices again (see tune.hpp).
#include "sugar/train/tune.hpp"

#include "sugar/autograd.hpp"
#include "sugar/data/registry.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/ops/conv_algorithm_store.hpp"
#include "sugar/random.hpp"
#include "sugar/train/builders.hpp"

namespace sugar::train {
namespace {

// Remeasuring for the lifetime of the object, whatever happens in between.
struct Remeasuring {
  Remeasuring() { ops::set_conv_remeasure(true); }
  ~Remeasuring() { ops::set_conv_remeasure(false); }
  Remeasuring(const Remeasuring&) = delete;
  Remeasuring& operator=(const Remeasuring&) = delete;
};

}  // namespace

TuneTarget config_tune_target(const config::ExperimentConfig& config, int ranks, std::optional<int64_t> classes) {
  if (ranks < 1 || config.train.batch_size % ranks != 0)
    throw Error("tune: train.batch_size " + std::to_string(config.train.batch_size) + " does not split evenly over " +
                    std::to_string(ranks) + " ranks",
                ErrorKind::usage);
  // Only the convolutions are measured, and the class count sizes only the classifier: an image
  // folder's (known only from its files) need not be read.
  const ModelInput input =
      documented_model_input(config, classes ? classes : data::expected_num_classes(config.data).value_or(2));
  TuneTarget target;
  target.model = build_model(config, input);
  target.input = {config.train.batch_size / ranks, input.shape.channels, input.shape.height, input.shape.width};
  target.dtype = config.train.dtype;
  target.description = config.model.name + " on " + std::to_string(input.shape.channels) + "x" +
                       std::to_string(input.shape.height) + "x" + std::to_string(input.shape.width) +
                       " images, batch " + std::to_string(target.input[0]) +
                       (ranks > 1 ? " per rank" : "") + ", " + name_of(config.train.dtype);
  return target;
}

std::vector<std::pair<std::string, ops::ConvLayerChoice>> tune_conv_algorithms(const TuneTarget& target) {
  nn::set_conv_algorithm(*target.model, ops::ConvAlgoPolicy::automatic);
  target.model->train();
  ops::clear_conv_algorithm_cache();
  const Remeasuring remeasuring;
  // The values do not matter to the timings; a fixed seed keeps two tunes alike.
  int64_t count = 1;
  for (int64_t d : target.input) count *= d;
  const RandomStream pixels(0, "tune/images");
  std::vector<float> values(static_cast<size_t>(count));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(pixels.normal(i));
  const Tensor x = Tensor::from_vector(target.input, values).to_dtype(target.dtype);
  const Tensor y = (*target.model)(x);
  autograd::backward(y, Tensor::full(y.shape(), 1.0f).to_dtype(y.dtype()));
  autograd::clear_tape();
  return nn::conv_algorithm_choices(*target.model);
}

}  // namespace sugar::train
