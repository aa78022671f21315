#include "sugar/train/initial_weights.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>

#include "sugar/error.hpp"
#include "sugar/io/regular_file.hpp"
#include "sugar/io/sha256.hpp"
#include "sugar/train/checkpoint.hpp"

namespace sugar::train {
namespace {

constexpr const char* kFileKey = "model.init_from";
constexpr const char* kDigestKey = "model.init_from_sha256";

std::string read_bytes(const std::string& path) {
  try {
    return io::read_regular_file(path, io::kMaxCheckpointFileBytes, "safetensors file");
  } catch (const Error& e) {
    throw Error(std::string(kFileKey) + ": " + e.what());
  }
}

// The file's digest, checked against the one the config pins (if any).
std::string checked_digest(const config::ModelConfig& model, const std::string& bytes) {
  const std::string digest = io::sha256_hex(bytes);
  if (!model.init_from_sha256.empty() && model.init_from_sha256 != digest) {
    throw Error(std::string(kDigestKey) + ": " + model.init_from + " has SHA-256 " + digest + ", but the config "
                "expects " + model.init_from_sha256 + " (the file was replaced or changed since; name the file the "
                "run is meant to start from, or remove " + kDigestKey + " to take this one)");
  }
  return digest;
}

// The first non-finite value of an F32 tensor, naming it (the data need not be aligned for float).
void check_finite(const io::SafetensorsFile& file, const std::string& name) {
  const io::TensorInfo& info = file.info(name);
  const uint8_t* bytes = file.bytes(name);
  const int64_t count = info.numel();
  int64_t bad = 0, first = -1;
  float first_value = 0;
  for (int64_t i = 0; i < count; ++i) {
    float value;
    std::memcpy(&value, bytes + 4 * i, 4);
    if (std::isfinite(value)) continue;
    if (bad++ == 0) first = i, first_value = value;
  }
  if (bad == 0) return;
  const std::string what = std::isnan(first_value) ? "NaN" : first_value > 0 ? "+Inf" : "-Inf";
  throw Error(file.source() + ": tensor '" + name + "' holds " + std::to_string(bad) + " non-finite value" +
              (bad == 1 ? "" : "s") + " (the first, element " + std::to_string(first) + " of " +
              std::to_string(count) + ", is " + what + "); initial weights must be finite");
}

// A digest as four 64-bit words, for comparing across ranks.
std::array<int64_t, 4> digest_words(const std::string& sha256) {
  SUGAR_CHECK(io::is_sha256_hex(sha256), "not a SHA-256 digest: '", sha256, "'");
  std::array<int64_t, 4> words{};
  for (size_t w = 0; w < 4; ++w)
    words[w] = std::bit_cast<int64_t>(std::stoull(sha256.substr(16 * w, 16), nullptr, 16));
  return words;
}

}  // namespace

InitialWeights read_initial_weights(const config::ModelConfig& model) {
  SUGAR_CHECK(!model.init_from.empty(), "read_initial_weights: ", kFileKey, " is empty");
  std::string bytes = read_bytes(model.init_from);
  InitialWeights weights;
  weights.sha256 = checked_digest(model, bytes);
  try {
    weights.file = io::SafetensorsFile::parse(std::move(bytes), model.init_from);
  } catch (const Error& e) {
    throw Error(std::string(kFileKey) + ": " + e.what());
  }
  return weights;
}

size_t load_initial_weights(const io::SafetensorsFile& file, nn::Module& model) {
  check_model_entries(file, model, ModelEntryTypes::f32);
  for (const auto& [name, t] : model.named_parameters()) check_finite(file, name);
  for (const auto& [name, t] : model.named_buffers()) check_finite(file, name);
  for (const auto& [name, value] : model.named_counters()) {
    const int64_t count = file.to_i64(name).front();
    SUGAR_CHECK(count >= 0, file.source(), ": counter '", name, "' is ", count, ", expected a count >= 0");
  }
  load_model_entries(file, model);
  size_t optimizer_entries = 0;
  for (const std::string& name : file.names()) optimizer_entries += name.starts_with(kOptimizerPrefix) ? 1 : 0;
  return optimizer_entries;
}

void check_ranks_read_the_same_file(dist::Communicator& ranks, const std::string& sha256) {
  if (ranks.size() == 1) return;
  const std::array<int64_t, 4> mine = digest_words(sha256);
  std::array<int64_t, 4> largest = mine;
  ranks.allreduce_max(largest.data(), 4);
  // A rank whose digest is not the largest knows it differs; the second reduction tells every rank.
  int64_t differs = largest != mine ? 1 : 0;
  ranks.allreduce_max(&differs, 1);
  if (differs != 0) {
    throw Error(std::string(kFileKey) + ": the ranks of this data-parallel run read different contents (rank " +
                std::to_string(ranks.rank()) + " read SHA-256 " + sha256 + "); every rank must read the same file");
  }
}

config::ExperimentConfig with_init_from_digest(config::ExperimentConfig config) {
  if (config.model.init_from.empty()) return config;
  config.model.init_from_sha256 = checked_digest(config.model, read_bytes(config.model.init_from));
  return config;
}

}  // namespace sugar::train
