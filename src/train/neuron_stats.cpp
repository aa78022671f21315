#include "sugar/train/neuron_stats.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "sugar/ops/channel_layout.hpp"
#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/activation.hpp"
#include "sugar/saved_tensor.hpp"

namespace sugar::train {
namespace {

using ops::ChannelLayout;
using ops::ChannelView;
using ops::channel_view;
using Clock = std::chrono::steady_clock;

// A task is one channel block times a run of kSpatialChunk positions, over every sample. Its units
// (c, s) belong to it alone, so tasks write their units without races, and each task's partial sum has
// a fixed place: the totals do not depend on the thread count.
constexpr int64_t kSpatialChunk = 64;
// Below this many elements the loops run on one thread (waking the team costs more).
constexpr int64_t kParallelThreshold = 32768;

// Where one task sits in the layout.
struct Task {
  int64_t cb = 0;     // channel block
  int64_t c0 = 0;     // its first channel
  int64_t lanes = 0;  // its real channels (the rest of the block is padding)
  int64_t s0 = 0, s1 = 0;
};

struct Tasks {
  const ChannelLayout& L;
  int64_t chunks = 0;  // spatial chunks per channel block
  int64_t count = 0;

  explicit Tasks(const ChannelLayout& layout)
      : L(layout), chunks((L.spatial + kSpatialChunk - 1) / kSpatialChunk), count(L.channel_blocks * chunks) {}

  Task operator[](int64_t t) const {
    Task k;
    k.cb = t / chunks;
    k.c0 = k.cb * L.block;
    k.lanes = std::min(L.block, L.channels - k.c0);
    k.s0 = (t % chunks) * kSpatialChunk;
    k.s1 = std::min(L.spatial, k.s0 + kSpatialChunk);
    return k;
  }

  // The task's slots: (s - s0) * block + l for position s and lane l, kSpatialChunk * block of them.
  int64_t slots() const { return kSpatialChunk * L.block; }

  // run(q, first_slot, length): the task's elements of every sample, as runs of `length` consecutive
  // floats q[0 .. length) for slots first_slot .. first_slot + length. Where a sample's positions are
  // contiguous (nchw, nChw16c) that is one run per sample, padding lanes included (zero, and the
  // callers only read the slots of real lanes); otherwise (nhwc) one run of the real lanes per position.
  template <class Run>
  void for_each_run(const float* p, const Task& k, Run&& run) const {
    const int64_t positions = k.s1 - k.s0;
    for (int64_t n = 0; n < L.batch; ++n) {
      const float* base = p + n * L.sample_stride + k.cb * L.block_stride;
      if (positions == 1) {
        run(base + k.s0 * L.spatial_stride, int64_t{0}, k.lanes);
      } else if (L.spatial_stride == L.block) {
        run(base + k.s0 * L.block, int64_t{0}, positions * L.block);
      } else {
        for (int64_t s = k.s0; s < k.s1; ++s) run(base + s * L.spatial_stride, (s - k.s0) * L.block, k.lanes);
      }
    }
  }
};

int64_t count_set(const std::vector<uint8_t>& flags) {
  return std::count_if(flags.begin(), flags.end(), [](uint8_t f) { return f != 0; });
}

}  // namespace

// The observer of one site: what its inputs and gradients have shown so far.
struct NeuronStats::Site final : nn::ActivationObserver {
  State* state = nullptr;
  nn::ActivationModule* module = nullptr;
  std::string name;

  // Activation statistics (measurement pass).
  int64_t channels = 0;           // 0 until the first input
  std::vector<uint8_t> positive;  // [channels]: some element > 0 seen
  int64_t elements = 0;
  int64_t nonpositive = 0;

  // Gradient statistics (training steps).
  int64_t grad_channels = 0;     // 0 until the first gradient
  int64_t grad_spatial = 0;
  std::vector<uint8_t> reached;  // [grad_channels * grad_spatial], unit (c, s) at c * spatial + s
  double sum_squares = 0;

  Tensor observe_input(const nn::ActivationModule& site, const Tensor& x) override;
  bool watches_fused_relu() const override { return true; }
  Tensor observe_relu_output(const nn::ActivationModule& site, const Tensor& y) override;
  // `t` under a new autograd identity, behind a node that records the gradient going by.
  Tensor watch_gradient(const Tensor& t, bool is_relu_output);
  void record_activations(const Tensor& x);
  // `relu_output` (optional): the gradient recorded is grad where relu_output > 0 and 0 elsewhere.
  void record_gradient(const Tensor& grad, const Tensor& relu_output = {});
};

struct NeuronStats::State {
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Site>> sites;
  bool measuring = false;
  double measure_seconds = 0;
};

Tensor NeuronStats::Site::observe_input(const nn::ActivationModule&, const Tensor& x) {
  if (!autograd::grad_enabled()) {
    if (state->measuring) record_activations(x);
    return x;
  }
  return x.requires_grad() ? watch_gradient(x, false) : x;
}

// Same storage under a new autograd identity: the next op records its node on `watched`, and this
// node hands watched's gradient on to t unchanged after reading it. For a fused ReLU's output, what it
// reads is the gradient that reached the ReLU's input: dL/dy masked by y > 0 (record_gradient).
Tensor NeuronStats::Site::watch_gradient(const Tensor& t, bool is_relu_output) {
  Tensor watched = t.detach();
  autograd::record("neuron_stats", {t}, {watched},
                   [this, t_grad = autograd::grad_target(t),
                    saved_output = autograd::SavedTensor(is_relu_output ? t : Tensor())](
                       const std::vector<Tensor>& grads) {
                     record_gradient(grads[0], saved_output.get());
                     autograd::accumulate_grad(t_grad, grads[0]);
                   });
  return watched;
}

// A ReLU fused into its batch norm: dL/dx is not materialised, but it is dL/dy masked by y > 0, which
// record_gradient reads from both (the same numbers ops::relu's backward would have handed on).
Tensor NeuronStats::Site::observe_relu_output(const nn::ActivationModule&, const Tensor& y) {
  return autograd::grad_enabled() && y.requires_grad() ? watch_gradient(y, true) : y;
}

void NeuronStats::Site::record_activations(const Tensor& x) {
  const auto start = Clock::now();
  const ChannelView view = channel_view(x, "neuron stats");
  const ChannelLayout& L = view.layout;
  if (channels == 0) {
    channels = L.channels;
    positive.assign(static_cast<size_t>(channels), 0);
  }
  SUGAR_CHECK(L.channels == channels, "neuron stats: site ", name, " had ", channels, " channels, now an input ",
              to_string(x.shape()));
  const Tasks tasks(L);
  const float* p = view.tensor.data<float>();
  std::vector<int64_t> task_nonpositive(static_cast<size_t>(tasks.count), 0);
  std::vector<uint8_t> task_positive(static_cast<size_t>(tasks.count * L.block), 0);
#pragma omp parallel if (L.elements() > kParallelThreshold)
  {
    // Per slot, over the samples: some element > 0, and how many are not (NaN is not positive).
    std::vector<uint8_t> any(static_cast<size_t>(tasks.slots()));
    std::vector<int32_t> nonpositive_in_slot(static_cast<size_t>(tasks.slots()));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tasks.count; ++t) {
      const Task k = tasks[t];
      std::fill(any.begin(), any.end(), uint8_t{0});
      std::fill(nonpositive_in_slot.begin(), nonpositive_in_slot.end(), 0);
      tasks.for_each_run(p, k, [&](const float* q, int64_t first, int64_t length) {
        uint8_t* a = any.data() + first;
        int32_t* np = nonpositive_in_slot.data() + first;
#pragma omp simd
        for (int64_t i = 0; i < length; ++i) {
          const bool is_positive = q[i] > 0.0f;
          a[i] |= static_cast<uint8_t>(is_positive);
          np[i] += is_positive ? 0 : 1;
        }
      });
      int64_t count = 0;
      for (int64_t s = k.s0; s < k.s1; ++s)
        for (int64_t l = 0; l < k.lanes; ++l) {
          const int64_t slot = (s - k.s0) * L.block + l;
          task_positive[t * L.block + l] |= any[slot];
          count += nonpositive_in_slot[slot];
        }
      task_nonpositive[static_cast<size_t>(t)] = count;
    }
  }
  for (int64_t t = 0; t < tasks.count; ++t) {
    const Task k = tasks[t];
    for (int64_t l = 0; l < k.lanes; ++l) positive[static_cast<size_t>(k.c0 + l)] |= task_positive[t * L.block + l];
    nonpositive += task_nonpositive[static_cast<size_t>(t)];
  }
  elements += L.batch * L.channels * L.spatial;
  state->measure_seconds += std::chrono::duration<double>(Clock::now() - start).count();
}

void NeuronStats::Site::record_gradient(const Tensor& grad, const Tensor& relu_output) {
  const ChannelView view = channel_view(grad, "neuron stats");
  const ChannelLayout& L = view.layout;
  // The mask in the gradient's layout, so that both are read with the same offsets.
  const ChannelView mask_view =
      relu_output.defined() ? channel_view(relu_output.to_desc(view.tensor.desc()), "neuron stats") : ChannelView{};
  const float* mask = relu_output.defined() ? mask_view.tensor.data<float>() : nullptr;
  if (grad_channels == 0) {
    grad_channels = L.channels;
    grad_spatial = L.spatial;
    reached.assign(static_cast<size_t>(grad_channels * grad_spatial), 0);
  }
  SUGAR_CHECK(L.channels == grad_channels && L.spatial == grad_spatial, "neuron stats: site ", name, " had ",
              grad_channels, " channels x ", grad_spatial, " positions, now a gradient ", to_string(grad.shape()));
  const Tasks tasks(L);
  const float* p = view.tensor.data<float>();
  std::vector<double> task_sums(static_cast<size_t>(tasks.count), 0.0);
  uint8_t* units = reached.data();
#pragma omp parallel if (L.elements() > kParallelThreshold)
  {
    // Per slot, over the samples: the sum of squares and whether any was non-zero (NaN counts as
    // non-zero). Independent slots keep the loop vectorised; each unit is then written once.
    std::vector<double> squares(static_cast<size_t>(tasks.slots()));
    std::vector<uint8_t> nonzero(static_cast<size_t>(tasks.slots()));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tasks.count; ++t) {
      const Task k = tasks[t];
      std::fill(squares.begin(), squares.end(), 0.0);
      std::fill(nonzero.begin(), nonzero.end(), uint8_t{0});
      tasks.for_each_run(p, k, [&](const float* q, int64_t first, int64_t length) {
        double* sq = squares.data() + first;
        uint8_t* nz = nonzero.data() + first;
        const float* m = mask != nullptr ? mask + (q - p) : nullptr;
        if (m == nullptr) {
#pragma omp simd
          for (int64_t i = 0; i < length; ++i) {
            const double g = q[i];
            sq[i] += g * g;
            nz[i] |= static_cast<uint8_t>(q[i] != 0.0f);
          }
        } else {
#pragma omp simd
          for (int64_t i = 0; i < length; ++i) {
            const float masked = m[i] > 0.0f ? q[i] : 0.0f;  // ops::relu's backward, from its output
            const double g = masked;
            sq[i] += g * g;
            nz[i] |= static_cast<uint8_t>(masked != 0.0f);
          }
        }
      });
      double sum = 0;
      for (int64_t s = k.s0; s < k.s1; ++s)
        for (int64_t l = 0; l < k.lanes; ++l) {
          const int64_t slot = (s - k.s0) * L.block + l;
          sum += squares[slot];
          units[(k.c0 + l) * L.spatial + s] |= nonzero[slot];
        }
      task_sums[static_cast<size_t>(t)] = sum;
    }
  }
  for (const double sum : task_sums) sum_squares += sum;
}

NeuronStats::NeuronStats(nn::Module& model) : state_(std::make_unique<State>()) {
  for (const auto& [path, module] : model.named_modules()) {
    auto* site = dynamic_cast<nn::ActivationModule*>(module);
    if (site == nullptr) continue;
    if (site->observer() != nullptr) {
      for (auto& attached : state_->sites) attached->module->set_observer(nullptr);
      throw Error("neuron stats: activation site " + path + " already has an observer (two NeuronStats on one model?)");
    }
    auto observer = std::make_unique<Site>();
    observer->state = state_.get();
    observer->module = site;
    observer->name = path;
    site->set_observer(observer.get());
    state_->names.push_back(path);
    state_->sites.push_back(std::move(observer));
  }
}

NeuronStats::~NeuronStats() {
  for (auto& site : state_->sites) site->module->set_observer(nullptr);
}

const std::vector<std::string>& NeuronStats::sites() const { return state_->names; }

void NeuronStats::reset_gradients() {
  for (auto& site : state_->sites) {
    site->grad_channels = 0;
    site->grad_spatial = 0;
    site->reached.clear();
    site->sum_squares = 0;
  }
}

void NeuronStats::begin_measurement() {
  for (auto& site : state_->sites) {
    site->channels = 0;
    site->positive.clear();
    site->elements = 0;
    site->nonpositive = 0;
  }
  state_->measure_seconds = 0;
  state_->measuring = true;
}

void NeuronStats::end_measurement() { state_->measuring = false; }

double NeuronStats::measurement_seconds() const { return state_->measure_seconds; }


void NeuronStats::combine_ranks(dist::Communicator& communicator) {
  if (communicator.size() == 1) return;
  // Sizes first: a rank whose shards were empty has not sized its vectors.
  std::vector<int64_t> sizes;
  for (const auto& site : state_->sites) {
    sizes.push_back(site->channels);
    sizes.push_back(site->grad_channels);
    sizes.push_back(site->grad_spatial);
  }
  communicator.allreduce_max(sizes.data(), static_cast<int64_t>(sizes.size()));
  std::vector<int64_t> flags;
  std::vector<double> sums;
  for (size_t i = 0; i < state_->sites.size(); ++i) {
    Site& site = *state_->sites[i];
    site.channels = sizes[3 * i];
    site.grad_channels = sizes[3 * i + 1];
    site.grad_spatial = sizes[3 * i + 2];
    site.positive.resize(static_cast<size_t>(site.channels), 0);
    site.reached.resize(static_cast<size_t>(site.grad_channels * site.grad_spatial), 0);
    flags.insert(flags.end(), site.positive.begin(), site.positive.end());
    flags.insert(flags.end(), site.reached.begin(), site.reached.end());
    sums.insert(sums.end(), {static_cast<double>(site.elements), static_cast<double>(site.nonpositive), site.sum_squares});
  }
  communicator.allreduce_max(flags.data(), static_cast<int64_t>(flags.size()));
  communicator.allreduce_sum(sums.data(), static_cast<int64_t>(sums.size()));
  size_t next_flag = 0;
  for (size_t i = 0; i < state_->sites.size(); ++i) {
    Site& site = *state_->sites[i];
    for (uint8_t& flag : site.positive) flag = static_cast<uint8_t>(flags[next_flag++]);
    for (uint8_t& flag : site.reached) flag = static_cast<uint8_t>(flags[next_flag++]);
    site.elements = static_cast<int64_t>(sums[3 * i]);
    site.nonpositive = static_cast<int64_t>(sums[3 * i + 1]);
    site.sum_squares = sums[3 * i + 2];
  }
}

std::vector<SiteNeuronStats> NeuronStats::results() const {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::vector<SiteNeuronStats> out;
  for (const auto& site : state_->sites) {
    SiteNeuronStats r;
    r.site = site->name;
    r.channels = site->channels;
    if (site->channels > 0) {
      const int64_t alive = count_set(site->positive);
      r.dead_fraction = static_cast<double>(site->channels - alive) / static_cast<double>(site->channels);
      r.sparsity = static_cast<double>(site->nonpositive) / static_cast<double>(site->elements);
    } else {
      r.dead_fraction = kNaN;
      r.sparsity = kNaN;
    }
    if (!site->reached.empty()) {
      r.grad_norm = std::sqrt(site->sum_squares);
      r.grad_nonzero_fraction =
          static_cast<double>(count_set(site->reached)) / static_cast<double>(site->reached.size());
    }
    out.push_back(std::move(r));
  }
  return out;
}

void measure_activations(nn::Module& model, data::DataLoader& loader, DType dtype, NeuronStats& stats) {
  // Ends the measurement however the pass ends, so a failed pass does not leave stats recording.
  struct Measuring {
    NeuronStats& stats;
    explicit Measuring(NeuronStats& s) : stats(s) { stats.begin_measurement(); }
    ~Measuring() { stats.end_measurement(); }
  } measuring(stats);
  autograd::NoGradGuard no_grad;
  model.eval();
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    if (batch->size() == 0) continue;  // this rank's part of a batch smaller than the number of ranks
    const Tensor images = dtype == DType::f32 ? batch->images : batch->images.to_dtype(dtype);
    model(images);
  }
}

}  // namespace sugar::train
