// model.init_from (train/initial_weights.hpp): a model takes every tensor of a file exactly, or, when
// anything about the file is wrong, refuses it with one message naming the problem and changes
// nothing; the digest the run records is that of the bytes it loaded.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "sugar/error.hpp"
#include "sugar/io/safetensors.hpp"
#include "sugar/io/sha256.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/nn/batch_norm.hpp"
#include "sugar/nn/conv2d.hpp"
#include "sugar/nn/flatten.hpp"
#include "sugar/nn/linear.hpp"
#include "sugar/nn/pool.hpp"
#include "sugar/nn/sequential.hpp"
#include "sugar/train/initial_weights.hpp"
#include "support/temp_dir.hpp"
#include "support/thread_ranks.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;
using io::StDtype;

// conv (with bias) - batch norm - relu - pool - flatten - linear: parameters, buffers and a counter,
// named as PyTorch's state_dict names them (0.weight, 1.running_var, 1.num_batches_tracked, 5.bias).
std::shared_ptr<nn::Sequential> make_net() {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1, 1, 1, true));
  net->push_back(std::make_shared<nn::BatchNorm2d>(4));
  net->push_back(std::make_shared<nn::Activation>("relu"));
  net->push_back(std::make_shared<nn::AdaptiveAvgPool2d>(1));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(4, 3));
  nn::initialize(*net, 11);
  return net;
}

// One entry of a file written by the tests, with its own bytes.
struct Entry {
  std::string name;
  StDtype dtype = StDtype::f32;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string f32_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// The value a test file gives element i of the k-th tensor: unlike anything the initialisation draws.
float file_value(size_t k, size_t i) { return 0.25f + static_cast<float>(k) + 0.001f * static_cast<float>(i); }

// The model's state_dict with file_value()s and every counter at 7, as a PyTorch model writes it.
std::vector<Entry> state_dict(nn::Module& model) {
  std::vector<Entry> entries;
  std::vector<std::pair<std::string, Tensor>> tensors = model.named_parameters();
  for (const auto& buffer : model.named_buffers()) tensors.push_back(buffer);
  for (size_t k = 0; k < tensors.size(); ++k) {
    std::vector<float> values(static_cast<size_t>(tensors[k].second.numel()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = file_value(k, i);
    entries.push_back({tensors[k].first, StDtype::f32, tensors[k].second.shape(), f32_bytes(values)});
  }
  for (const auto& [name, counter] : model.named_counters()) {
    const int64_t seven = 7;
    entries.push_back({name, StDtype::i64, {}, std::string(reinterpret_cast<const char*>(&seven), 8)});
  }
  return entries;
}

std::string serialized(const std::vector<Entry>& entries) {
  std::vector<io::TensorToWrite> tensors;
  for (const Entry& e : entries) tensors.push_back({e.name, e.dtype, e.shape, e.bytes.data(), e.bytes.size()});
  return io::serialize_safetensors(tensors);
}

io::SafetensorsFile as_file(const std::vector<Entry>& entries) {
  return io::SafetensorsFile::parse(serialized(entries), "start.safetensors");
}

Entry& entry(std::vector<Entry>& entries, const std::string& name) {
  for (Entry& e : entries)
    if (e.name == name) return e;
  throw std::runtime_error("no entry " + name);
}

// Every value and counter of the model, to see that a refused file changed nothing.
std::vector<std::vector<float>> snapshot(const nn::Module& model) {
  std::vector<std::vector<float>> values;
  for (const auto& [name, t] : model.named_parameters()) values.push_back(t.to_vector());
  for (const auto& [name, t] : model.named_buffers()) values.push_back(t.to_vector());
  for (const auto& [name, counter] : model.named_counters()) values.push_back({static_cast<float>(*counter)});
  return values;
}

// load_initial_weights must refuse `entries` with a message holding every one of `parts`, leaving the
// model as it was.
void expect_refused(const std::vector<Entry>& entries, const std::vector<std::string>& parts) {
  auto model = make_net();
  const auto before = snapshot(*model);
  try {
    train::load_initial_weights(as_file(entries), *model);
    ADD_FAILURE() << "the file was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
  EXPECT_EQ(snapshot(*model), before) << "a refused file changed the model";
}

TEST(InitialWeights, EveryParameterBufferAndCounterTakesTheFilesValuesExactly) {
  auto model = make_net();
  std::vector<Entry> entries = state_dict(*model);
  // A Sugar checkpoint's optimizer state is not the model's: passed over, and counted.
  entries.push_back({"optim.5.bias.momentum_buffer", StDtype::f32, {3}, f32_bytes({9, 9, 9})});
  EXPECT_EQ(train::load_initial_weights(as_file(entries), *model), 1u);

  std::vector<std::pair<std::string, Tensor>> tensors = model->named_parameters();
  for (const auto& buffer : model->named_buffers()) tensors.push_back(buffer);
  ASSERT_EQ(tensors.size(), 8u);  // 0.weight 0.bias 1.weight 1.bias 5.weight 5.bias, 1.running_mean 1.running_var
  for (size_t k = 0; k < tensors.size(); ++k) {
    const std::vector<float> values = tensors[k].second.to_vector();
    for (size_t i = 0; i < values.size(); ++i)
      ASSERT_EQ(values[i], file_value(k, i)) << tensors[k].first << "[" << i << "]";
  }
  for (const auto& [name, counter] : model->named_counters()) EXPECT_EQ(*counter, 7) << name;
}

TEST(InitialWeights, MissingAndUnexpectedNamesAreListedTogether) {
  auto model = make_net();
  std::vector<Entry> entries = state_dict(*model);
  std::erase_if(entries, [](const Entry& e) { return e.name == "0.weight" || e.name == "1.num_batches_tracked"; });
  entries.push_back({"module.5.weight", StDtype::f32, {3, 4}, f32_bytes(std::vector<float>(12, 1.0f))});
  expect_refused(entries, {"start.safetensors does not fit this model", "missing 2 tensors (0.weight, "
                           "1.num_batches_tracked)", "unexpected 1 tensors (module.5.weight)"});
}

TEST(InitialWeights, OtherShapesAndTypesAreRefusedNamingTheTensor) {
  auto model = make_net();
  std::vector<Entry> transposed = state_dict(*model);
  entry(transposed, "5.weight").shape = {4, 3};
  expect_refused(transposed, {"5.weight has shape [4, 3] in the file but [3, 4] in the model"});

  // BF16 is a rounded copy of some model's weights: refused, though a checkpoint may hold it.
  std::vector<Entry> bf16 = state_dict(*model);
  entry(bf16, "1.weight") = {"1.weight", StDtype::bf16, {4}, std::string(8, '\0')};
  expect_refused(bf16, {"1.weight is BF16, expected F32"});

  std::vector<Entry> i64 = state_dict(*model);
  entry(i64, "0.bias") = {"0.bias", StDtype::i64, {4}, std::string(32, '\0')};
  expect_refused(i64, {"0.bias is I64, expected F32"});

  std::vector<Entry> f32_counter = state_dict(*model);
  entry(f32_counter, "1.num_batches_tracked") = {"1.num_batches_tracked", StDtype::f32, {}, f32_bytes({7})};
  expect_refused(f32_counter, {"1.num_batches_tracked is F32 [], expected an I64 scalar []"});
}

TEST(InitialWeights, NonFiniteValuesAreRefusedNamingTheTensorAndTheElement) {
  auto model = make_net();
  // In a buffer checked after every parameter passed: nothing may have been copied by then.
  std::vector<Entry> nan = state_dict(*model);
  std::vector<float> running_var{1, 1, std::numeric_limits<float>::quiet_NaN(), 1};
  entry(nan, "1.running_var").bytes = f32_bytes(running_var);
  expect_refused(nan, {"start.safetensors: tensor '1.running_var' holds 1 non-finite value (the first, element 2 of "
                       "4, is NaN); initial weights must be finite"});

  std::vector<Entry> inf = state_dict(*model);
  std::vector<float> weight(12, 0.5f);
  weight[5] = -std::numeric_limits<float>::infinity();
  weight[9] = std::numeric_limits<float>::infinity();
  entry(inf, "5.weight").bytes = f32_bytes(weight);
  expect_refused(inf, {"tensor '5.weight' holds 2 non-finite values (the first, element 5 of 12, is -Inf)"});
}

TEST(InitialWeights, ANegativeCounterIsRefused) {
  auto model = make_net();
  std::vector<Entry> entries = state_dict(*model);
  const int64_t negative = -3;
  entry(entries, "1.num_batches_tracked").bytes = std::string(reinterpret_cast<const char*>(&negative), 8);
  expect_refused(entries, {"counter '1.num_batches_tracked' is -3, expected a count >= 0"});
}

// ---- the file on disk and its digest --------------------------------------------------------------

config::ModelConfig init_from(const std::string& path, const std::string& sha256 = "") {
  config::ModelConfig model;
  model.init_from = path;
  model.init_from_sha256 = sha256;
  return model;
}

std::string read_error(const config::ModelConfig& model) {
  try {
    train::read_initial_weights(model);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << model.init_from << " was read";
  return "";
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

TEST(InitialWeights, TheDigestIsThatOfTheBytesLoadedAndAPinnedOneMustMatch) {
  const testkit::TempDir dir("initial-weights");
  auto model = make_net();
  const std::string bytes = serialized(state_dict(*model));
  write_bytes(dir.file("start.safetensors"), bytes);
  const train::InitialWeights weights = train::read_initial_weights(init_from(dir.file("start.safetensors")));
  EXPECT_EQ(weights.sha256, io::sha256_hex(bytes));
  EXPECT_EQ(weights.file.source(), dir.file("start.safetensors"));
  EXPECT_NO_THROW(train::read_initial_weights(init_from(dir.file("start.safetensors"), weights.sha256)));

  const std::string other(64, 'e');
  const std::string message = read_error(init_from(dir.file("start.safetensors"), other));
  const std::string expected = "model.init_from_sha256: " + dir.file("start.safetensors") + " has SHA-256 " +
                               weights.sha256 + ", but the config expects " + other;
  EXPECT_EQ(message.rfind(expected, 0), 0u) << message;

  // The sweep's digest: the same, filled into the config; checked against a pinned one alike.
  config::ExperimentConfig config;
  config.model = init_from(dir.file("start.safetensors"));
  EXPECT_EQ(train::with_init_from_digest(config).model.init_from_sha256, weights.sha256);
  config.model.init_from_sha256 = other;
  EXPECT_THROW(train::with_init_from_digest(config), Error);
  EXPECT_EQ(train::with_init_from_digest(config::ExperimentConfig{}).model.init_from_sha256, "");
}

// The file is an input like any other: each of these is one error that names the key and the file.
TEST(InitialWeights, HostileFilesAreRefusedNamingTheKey) {
  const testkit::TempDir dir("initial-weights");
  auto model = make_net();
  const std::string good = serialized(state_dict(*model));
  const auto expect = [&](const std::string& path, const std::string& what) {
    const std::string message = read_error(init_from(path));
    EXPECT_EQ(message.rfind("model.init_from: ", 0), 0u) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  };
  expect(dir.file("missing.safetensors"), "No such file or directory");
  fs::create_symlink("/dev/zero", dir.file("zero.safetensors"));
  expect(dir.file("zero.safetensors"), "character device");
  fs::create_directory(dir.file("folder.safetensors"));
  expect(dir.file("folder.safetensors"), "directory");
  write_bytes(dir.file("truncated.safetensors"), good.substr(0, good.size() - 5));
  expect(dir.file("truncated.safetensors"), "not a valid safetensors file");
  std::string lying = good;
  const uint64_t huge = uint64_t{1} << 40;  // a header length far beyond the file
  std::memcpy(lying.data(), &huge, 8);
  write_bytes(dir.file("lying.safetensors"), lying);
  expect(dir.file("lying.safetensors"), "is beyond the file size");
  write_bytes(dir.file("short.safetensors"), "abc");
  expect(dir.file("short.safetensors"), "truncated");
}

// Data parallelism: ranks that read other contents all stop, each saying so; the same contents pass.
TEST(InitialWeights, RanksThatReadDifferentFilesAllStop) {
  const std::string a(64, 'a'), b = std::string(63, 'a') + "b";
  std::atomic<int> refused{0};
  testkit::run_ranks(2, [&](dist::Communicator& ranks) {
    EXPECT_NO_THROW(train::check_ranks_read_the_same_file(ranks, a));
    try {
      train::check_ranks_read_the_same_file(ranks, ranks.rank() == 0 ? a : b);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("the ranks of this data-parallel run read different contents"),
                std::string::npos)
          << e.what();
      ++refused;
    }
  });
  EXPECT_EQ(refused.load(), 2);
}

}  // namespace
