// Writes the order in which `sugar train` visits the training samples of a config, epoch by epoch, so
// that a PyTorch run can see the same batches (tests/torch/agreement.py, cli.torch_agreement):
//
//   <output file>   one line per epoch: the training set's sample indices (0-based, within the training
//                   set after data.train_limit) in visiting order, separated by spaces; consecutive
//                   train.batch_size of them make a batch, the last one possibly smaller.
//
// The order comes from the trainer's own training loader (train::build_train_loader on the config's
// data), so it is the order a run of that config trains with, not a second implementation of it.
//
// usage: batch_order <config.yaml> <epochs> <output file>
#include <cstdio>
#include <fstream>
#include <string>

#include "sugar/config/config_yaml.hpp"
#include "sugar/data/registry.hpp"
#include "sugar/error.hpp"
#include "sugar/train/builders.hpp"

namespace {

using namespace sugar;

int run(const std::string& config_path, int64_t epochs, const std::string& output) {
  const config::ExperimentConfig config = config::load_config(config_path);
  const data::DataSplits data = data::load_data(config.data);
  const auto loader = train::build_train_loader(config, data);
  std::ofstream out(output);
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    std::string line;
    for (const int64_t index : loader->epoch_order(epoch)) line += (line.empty() ? "" : " ") + std::to_string(index);
    out << line << "\n";
  }
  out.close();
  SUGAR_CHECK(out.good(), "batch_order: cannot write ", output);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: batch_order <config.yaml> <epochs> <output file>\n");
    return 2;
  }
  try {
    return run(argv[1], std::stoll(argv[2]), argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "batch_order: %s\n", e.what());
    return 1;
  }
}
