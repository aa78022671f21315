#include "sugar/train/gradient_allreduce.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <set>

#include "sugar/error.hpp"

namespace sugar::train {

namespace {
int64_t floats_of(const Tensor& t) { return static_cast<int64_t>(t.desc().get_size() / sizeof(float)); }
}  // namespace

GradientAllReducer::GradientAllReducer(dist::Communicator& communicator, const nn::NamedTensors& parameters,
                                       int64_t bucket_bytes)
    : communicator_(communicator) {
  SUGAR_CHECK(bucket_bytes > 0, "GradientAllReducer: bucket_bytes ", bucket_bytes, " (expected > 0)");
  std::set<const TensorImpl*> seen;
  for (const auto& [name, tensor] : parameters) {
    SUGAR_CHECK(tensor.defined(), "GradientAllReducer: parameter '", name, "' is undefined");
    SUGAR_CHECK(tensor.dtype() == DType::f32, "GradientAllReducer: parameter '", name, "' is ",
                dtype_name(tensor.dtype()),
                "; gradients are all-reduced in f32 (master weights), expected an f32 parameter");
    SUGAR_CHECK(tensor.is_leaf() && tensor.requires_grad(), "GradientAllReducer: parameter '", name,
                "' is not a leaf tensor that requires a gradient");
    SUGAR_CHECK(seen.insert(tensor.impl()).second, "GradientAllReducer: parameter '", name,
                "' is listed twice (one tensor has one gradient and one grad-ready hook)");
    SUGAR_CHECK(!autograd_state(tensor)->grad_ready_hook, "GradientAllReducer: parameter '", name,
                "' already has a grad-ready hook (is another GradientAllReducer attached to it?)");
    parameters_.push_back({name, tensor, 0, 0, floats_of(tensor), false});
  }
  // One rank: nothing to exchange, so no buckets and no hooks, and backward runs as if alone.
  if (communicator_.size() == 1) return;

  // Reverse order: backward finishes the last layers first, so their bucket can travel while the
  // earlier layers' gradients are still being computed.
  int64_t bucket_floats = 0;
  for (size_t i = parameters_.size(); i-- > 0;) {
    if (bucket_members_.empty() || bucket_floats * static_cast<int64_t>(sizeof(float)) >= bucket_bytes) {
      bucket_members_.emplace_back();
      bucket_floats = 0;
    }
    Parameter& p = parameters_[i];
    p.bucket = bucket_members_.size() - 1;
    p.offset = bucket_floats;
    bucket_floats += p.floats;
    bucket_members_.back().push_back(i);
  }
  buckets_.resize(bucket_members_.size());
  for (size_t b = 0; b < buckets_.size(); ++b) {
    int64_t floats = 0;
    for (size_t i : bucket_members_[b]) floats += parameters_[i].floats;
    buckets_[b].buffer.assign(static_cast<size_t>(floats), 0.0f);
  }
  for (size_t i = 0; i < parameters_.size(); ++i)
    parameters_[i].tensor.set_grad_ready_hook([this, i](Tensor& param) { on_gradient_ready(i, param); });
}

GradientAllReducer::~GradientAllReducer() {
  for (Parameter& p : parameters_) p.tensor.set_grad_ready_hook(nullptr);
  // The communication thread may still be reading buffers that are about to be freed.
  std::exception_ptr ignored;
  wait_for_all(&ignored);
}

void GradientAllReducer::begin_step(double weight) {
  SUGAR_CHECK(!in_step_, "GradientAllReducer::begin_step: the previous step was not finished (finish_step)");
  SUGAR_CHECK(std::isfinite(weight) && weight >= 0.0, "GradientAllReducer::begin_step: weight ", weight,
              " (expected this rank's share of the global batch, >= 0)");
  in_step_ = true;
  weight_ = static_cast<float>(weight);
  next_bucket_ = 0;
  for (Parameter& p : parameters_) p.ready = false;
  for (Bucket& b : buckets_) b.ready = 0;
}

// Runs on the training thread, inside backward, when the parameter's gradient is final.
void GradientAllReducer::on_gradient_ready(size_t index, const Tensor& param) {
  Parameter& p = parameters_[index];
  SUGAR_CHECK(in_step_, "GradientAllReducer: the gradient of '", p.name,
              "' became ready outside begin_step/finish_step (every backward pass of a data-parallel model must "
              "run between them)");
  SUGAR_CHECK(p.bucket >= next_bucket_, "GradientAllReducer: the gradient of '", p.name,
              "' became ready twice in one step, after its bucket was sent (accumulating several backward passes "
              "per step is not supported)");
  Tensor grad = param.grad();
  SUGAR_CHECK(grad.dtype() == DType::f32, "GradientAllReducer: the gradient of '", p.name, "' is ",
              dtype_name(grad.dtype()), "; gradients are all-reduced in f32 (master weights), expected f32");
  grad = grad.to_desc(p.tensor.desc());  // accumulate_grad already stores it so; a no-op then
  Bucket& bucket = buckets_[p.bucket];
  const float* source = grad.data<float>();
  float* target = bucket.buffer.data() + p.offset;
  const float weight = weight_;
  for (int64_t k = 0; k < p.floats; ++k) target[k] = source[k] * weight;
  if (!p.ready) {
    p.ready = true;
    ++bucket.ready;
  }
  submit_complete_buckets();
}

void GradientAllReducer::submit_complete_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].ready == bucket_members_[next_bucket_].size())
    submit(next_bucket_++);
}

void GradientAllReducer::submit(size_t bucket) {
  Bucket& b = buckets_[bucket];
  const auto count = static_cast<int64_t>(b.buffer.size());
  b.request = communicator_.allreduce_sum_async(b.buffer.data(), count);
  stats_.bytes_reduced += count * static_cast<int64_t>(sizeof(float));
  ++stats_.buckets_reduced;
}

void GradientAllReducer::wait_for_all(std::exception_ptr* first_error) {
  // Every request is waited for, even after a failure: the buffers must outlive the transfers.
  for (Bucket& b : buckets_) {
    try {
      b.request.wait();
    } catch (...) {
      if (!*first_error) *first_error = std::current_exception();
    }
    b.request = dist::Request();
  }
}

void GradientAllReducer::finish_step() {
  SUGAR_CHECK(in_step_, "GradientAllReducer::finish_step: no step was begun (begin_step)");
  in_step_ = false;
  ++stats_.steps;

  if (communicator_.size() == 1) {
    if (weight_ == 1.0f) return;
    for (Parameter& p : parameters_) {
      const Tensor grad = p.tensor.grad();
      if (!grad.defined()) continue;
      Tensor scaled = grad.to_desc(p.tensor.desc()).clone();
      float* values = scaled.data<float>();
      for (int64_t k = 0; k < p.floats; ++k) values[k] *= weight_;
      p.tensor.set_grad(scaled);
    }
    return;
  }

  // Parameters that received no gradient this step contribute zeros; then the rest goes out in order.
  for (size_t b = next_bucket_; b < buckets_.size(); ++b)
    for (size_t i : bucket_members_[b]) {
      Parameter& p = parameters_[i];
      if (!p.ready) std::memset(buckets_[b].buffer.data() + p.offset, 0, p.floats * sizeof(float));
    }
  while (next_bucket_ < buckets_.size()) submit(next_bucket_++);

  const auto start = std::chrono::steady_clock::now();
  std::exception_ptr error;
  wait_for_all(&error);
  stats_.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (error) std::rethrow_exception(error);

  // New tensors: a stored gradient is never written in place (autograd::accumulate_grad's rule).
  for (Parameter& p : parameters_) {
    Tensor grad = Tensor::from_desc(p.tensor.desc());
    std::memcpy(grad.raw_data(), buckets_[p.bucket].buffer.data() + p.offset, p.floats * sizeof(float));
    p.tensor.set_grad(grad);
  }
}

}  // namespace sugar::train
