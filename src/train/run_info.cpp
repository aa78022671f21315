#include "sugar/train/run_info.hpp"

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "sugar/io/atomic_file.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/primitive_cache.hpp"
#include "sugar/runtime.hpp"
#include "sugar/run_dir/status.hpp"
#include "sugar/clock.hpp"

namespace sugar::train {
namespace {

const char* const kDeterminism =
    "Same config, seed, thread count, Sugar build and machine give identical metrics (time columns aside): "
    "weights, shuffling and augmentation come from counter-based random streams, oneDNN runs the same "
    "primitives with the same thread partitioning, and reductions run in a fixed order. Other thread counts, "
    "CPUs (other ISA paths in oneDNN) or oneDNN versions change results by floating-point rounding, which "
    "grows over training. Under mpirun the same holds for the same number of ranks and threads per rank; "
    "another rank count changes the rounding (gradient sums), and without train.sync_bn also the math "
    "(each rank's batch-norm statistics cover only its part of the batch).";

}  // namespace

void write_run_info(const std::string& path, const RunProvenance& p) {
  nlohmann::json info = nlohmann::json::object();
  if (std::filesystem::exists(path)) {
    try {
      info = io::parse_json(io::read_file(path));
    } catch (const std::exception&) {
      info = nlohmann::json::object();  // unreadable provenance is replaced, never fatal
    }
  }
  if (!info.is_object()) info = nlohmann::json::object();
  info["sugar_version"] = sugar_version();
  info["git_commit"] = sugar_git_commit();
  info["onednn_version"] = onednn_version();
  info["cpu"] = {{"model", cpu_model_name()}, {"flags", cpu_flags()}};
  info["dtype"] = p.dtype;
  info["model"] = {{"name", p.model_name}, {"parameters", p.model_parameters}};
  info["data"] = {{"train", p.train_samples}, {"eval", p.eval_samples}, {"eval_split", p.eval_split},
                  {"classes", p.classes},     {"shape", p.image_shape}};
  info["threads"] = p.threads;
  info["ranks"] = p.ranks;
  info["determinism"] = kDeterminism;
  // Known once the layers have run: record_layer_implementations fills them in.
  info["layer_implementations"] = nullptr;
  info["conv_algorithms"] = nullptr;
  nlohmann::json session = {{"started", utc_timestamp()},
                            {"host", run_dir::host_name()},
                            {"pid", static_cast<int64_t>(::getpid())},
                            {"threads", p.threads},
                            {"ranks", p.ranks},
                            {"communicator", p.communicator},
                            {"first_epoch", p.first_epoch},
                            {"git_commit", sugar_git_commit()},
                            {"command", p.command}};
  if (!info.contains("sessions") || !info["sessions"].is_array()) info["sessions"] = nlohmann::json::array();
  info["sessions"].push_back(session);
  io::write_file_atomic(path, info.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void record_layer_implementations(const std::string& path, nn::Module& model, ops::ConvAlgoPolicy policy) {
  nlohmann::json info = nlohmann::json::object();
  try {
    info = io::parse_json(io::read_file(path));
  } catch (const std::exception&) {
    info = nlohmann::json::object();  // as in write_run_info: unreadable provenance is replaced
  }
  if (!info.is_object()) info = nlohmann::json::object();
  nlohmann::json implementations = nlohmann::json::object();
  for (const PrimitiveImplementation& p : primitive_implementations()) implementations[p.key] = p.implementation;
  info["layer_implementations"] = implementations;
  info["conv_algorithms"] = {{"policy", name_of(policy)},
                             {"layers", io::parse_json(nn::conv_algorithm_choices_json(model))}};
  io::write_file_atomic(path, info.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace sugar::train
