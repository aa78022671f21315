#pragma once
// Gradient averaging for data-parallel training, overlapped with the backward pass (PyTorch DDP's
// bucketed all-reduce). Each rank computes the gradient of its shard of the global batch; at the end
// of the step every rank holds
//   sum over ranks r of  weight_r * gradient_r,   weight_r = r's samples / global batch samples,
// which is the gradient of the mean loss over the global batch, so that every rank applies the same
// optimizer step.
//
//   train::GradientAllReducer reducer(world, model.named_parameters(), 4 << 20);
//   reducer.begin_step(local_samples / double(global_samples));
//   autograd::backward(loss);         // buckets start reducing while backward still runs
//   reducer.finish_step();            // waits; every parameter now has the averaged gradient
//   optimizer.step();
//
// Parameters are grouped into buckets of about `bucket_bytes` in reverse registration order, the order
// in which backward finishes them. When a parameter's gradient is final (its grad-ready hook fires),
// gradient * weight is copied into its bucket; a full bucket is all-reduced asynchronously, always in
// bucket order, so every rank issues the same sequence of collectives whatever order its hooks fire in.
// A parameter that received no gradient in a step contributes zeros.
//
// With one rank (size() == 1) nothing is installed and finish_step() only applies the weight.
// The training thread must not issue other collectives on the communicator between begin_step and
// finish_step unless it accepts that they queue behind the buckets (synchronised batch-norm does).
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "sugar/dist/communicator.hpp"
#include "sugar/nn/module.hpp"

namespace sugar::train {

class GradientAllReducer {
 public:
  // The parameters must be f32 leaf tensors that require a gradient, each listed once, with no
  // grad-ready hook of their own; bucket_bytes > 0. They must stay alive as long as this object.
  GradientAllReducer(dist::Communicator& communicator, const nn::NamedTensors& parameters, int64_t bucket_bytes);
  ~GradientAllReducer();  // removes the hooks (waits for buckets still in flight)
  GradientAllReducer(const GradientAllReducer&) = delete;
  GradientAllReducer& operator=(const GradientAllReducer&) = delete;

  // Before the backward pass; `weight` = this rank's samples / the global batch's samples.
  void begin_step(double weight);
  // After the backward pass: reduces what is left, waits for all buckets and gives every parameter a
  // new gradient tensor (same layout as the parameter) holding the sum over ranks.
  void finish_step();

  // Buckets in submission order: the parameters' indices (into the constructor's list) of each one.
  const std::vector<std::vector<size_t>>& buckets() const { return bucket_members_; }
  int64_t bucket_count() const { return static_cast<int64_t>(bucket_members_.size()); }

  // Counters since construction (or reset_stats), for the "all-reduce time per step" of a scaling table.
  struct Stats {
    int64_t steps = 0;
    double wait_seconds = 0;      // the training thread's time in finish_step waiting for the buckets
    int64_t bytes_reduced = 0;    // gradient bytes all-reduced
    int64_t buckets_reduced = 0;  // all-reduce calls
  };
  const Stats& stats() const { return stats_; }
  void reset_stats() { stats_ = Stats(); }

 private:
  struct Parameter {
    std::string name;
    Tensor tensor;
    size_t bucket = 0;
    int64_t offset = 0;  // in floats, within the bucket's buffer
    int64_t floats = 0;  // the descriptor's size in floats (padding lanes included)
    bool ready = false;  // this step's gradient is in the buffer
  };
  struct Bucket {
    std::vector<float> buffer;
    size_t ready = 0;  // parameters whose gradient is in the buffer this step
    dist::Request request;
  };

  void on_gradient_ready(size_t index, const Tensor& param);
  void submit_complete_buckets();
  void submit(size_t bucket);
  void wait_for_all(std::exception_ptr* first_error);

  dist::Communicator& communicator_;
  std::vector<Parameter> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<std::vector<size_t>> bucket_members_;
  bool in_step_ = false;
  float weight_ = 1.0f;
  size_t next_bucket_ = 0;  // the first bucket not yet submitted this step
  Stats stats_;
};

}  // namespace sugar::train
