#pragma once
// run.json: where a run's numbers came from. Written when a run starts; each `--resume` appends a
// session, since threads or the binary may differ between sessions.
//
//   {"sugar_version": "0.1.0", "git_commit": "3b239d8...", "onednn_version": "2.6.3 (commit ...)",
//    "cpu": {"model": "Intel(R) Xeon(R) ...", "flags": ["avx512f", "amx_bf16", ...]},
//    "dtype": "f32", "model": {"name": "resnet18", "parameters": 11173962},
//    "data": {"train": 50000, "eval": 10000, "eval_split": "test", "classes": 10, "shape": [3, 32, 32]},
//    "determinism": "...",
//    "sessions": [{"started": "...", "host": "...", "pid": 1, "threads": 2, "first_epoch": 1,
//                  "git_commit": "...", "command": "sugar train ..."}]},
//    "layer_implementations": {"conv2d_forward_training|[128,3,32,32]|...": "jit:avx512_core", ...},
//    "conv_algorithms": {"policy": "auto", "layers": {"conv1": {"layer": "f32 3x32x32->64x32x32 ...",
//                        "forward": "direct", "backward_data": "direct", "backward_weights": "winograd",
//                        "source": "measured", "provisional": false,
//                        "note": "forward direct: winograd 2.97x direct +-3% (median ms 12/35.6); ..."}, ...}}}
#include <cstdint>
#include <string>
#include <vector>

#include "sugar/nn/module.hpp"
#include "sugar/ops/conv_algorithm.hpp"

namespace sugar::train {

struct RunProvenance {
  std::string dtype;
  std::string model_name;
  int64_t model_parameters = 0;
  int64_t train_samples = 0;
  int64_t eval_samples = 0;
  std::string eval_split;
  int64_t classes = 0;
  std::vector<int64_t> image_shape;  // C, H, W
  int threads = 0;           // per rank
  int ranks = 1;             // processes training the model together (mpirun -np)
  std::string communicator;  // dist::Communicator::description()
  int64_t first_epoch = 1;  // the epoch this session starts with (> 1 when resuming)
  std::string command;      // the command line, when known
};

// Writes run.json atomically; when the file exists (a resumed run) the new session is appended to it.
void write_run_info(const std::string& path, const RunProvenance& provenance);

// Updates run.json with what the layers run, known once they have run: "layer_implementations"
// (oneDNN's implementation of each primitive this process created, by primitive cache key) and
// "conv_algorithms" (train.conv_algo's `policy` and each Conv2d's choice, nn::conv_algorithm_choices).
// The trainer calls it with each checkpoint; a resumed session replaces the previous session's lists.
void record_layer_implementations(const std::string& path, nn::Module& model, ops::ConvAlgoPolicy policy);

}  // namespace sugar::train
