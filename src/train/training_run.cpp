// The training run (training_run.hpp). Over 400 lines for a reason: one class, Run, whose members
// all read and advance the same position (epoch, batch, step, sums, best) and the same run files; it is
// split by what each member does, in the order of an epoch: loop -> train_one_epoch -> train_step,
// then epoch_metrics -> evaluate_epoch -> record_epoch (rows, checkpoints) -> log_epoch.
#include "training_run.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <utility>

#include "sugar/autograd.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/nn/conv_algorithms.hpp"
#include "sugar/nn/sample_offset.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/run_dir/layout.hpp"
#include "sugar/run_dir/status.hpp"
#include "sugar/runtime.hpp"
#include "sugar/signals.hpp"
#include "sugar/train/checkpoint.hpp"
#include "sugar/train/conv_choice_agreement.hpp"
#include "sugar/train/neuron_stats.hpp"
#include "sugar/optim/clip.hpp"
#include "sugar/train/nonfinite.hpp"
#include "sugar/train/progress.hpp"
#include "sugar/train/run_info.hpp"
#include "run_log.hpp"

namespace sugar::train {
namespace {

using Clock = std::chrono::steady_clock;
using run_dir::path_in;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The heap is never trimmed during training (keep_large_blocks_in_the_heap), so its resident size is the high-water mark of
// everything ever allocated, and the allocations around an epoch's end (evaluation batches, the
// checkpoint's bytes) land at new addresses often enough to raise that mark a little every epoch:
// measured on a VGG-11 at the last step of epochs 1..8, 277 329 334 347 347 347 361 361 MB; with this,
// 276 267 255 264 258 261 275 263 MB. Returning the free pages once per epoch keeps a days-long run's
// footprint flat; refaulting them costs the next epoch's first steps milliseconds (a second for GBs).
void release_free_memory() { malloc_trim(0); }

class Run {
 public:
  Run(Session& session, std::string dir, const TrainOptions& options, TrainingPosition start, RunFiles files)
      : s_(session),
        dir_(std::move(dir)),
        options_(options),
        position_(start),
        saved_(start),
        files_(files),
        writer_(files.csv != nullptr),
        parameters_(session.model->named_parameters()),
        state_before_batch_(*session.model) {
    if (s_.config.train.neuron_stats) neuron_stats_ = std::make_unique<NeuronStats>(*s_.model);
  }

  TrainResult execute() {
    const RankZeroConvChoices one_set_of_algorithms(*s_.ranks);
    std::optional<RunLog> log;
    watching_signals_ = options_.handle_signals;  // train()/resume() hold the SignalWatch
    std::optional<run_dir::RunStatus> status;
    if (writer_) {
      log.emplace(path_in(dir_, run_dir::kLogFile));
      status.emplace(path_in(dir_, run_dir::kStatusFile), s_.config.train.epochs, options_.heartbeat);
      status->set_progress(position_.epoch, position_.step);
    }
    status_ = status ? &*status : nullptr;
    log_ = log ? &*log : nullptr;
    TrainResult result;
    result.run_dir = dir_;
    try {
      log_start();
      result.state = loop(&result);
      if (result.state == "interrupted") result.stop_signal = static_cast<int>(agreed_stop_signal_);
      if (status_) status_->finish(result.state);
      if (result.state == "finished" && writer_) {
        spdlog::info("run {} finished: best {} top-1 {:.2f}% at epoch {}; {}", dir_, s_.eval_split,
                     position_.best_eval_top1, position_.best_epoch, files_.csv->path());
      }
    } catch (const std::exception& e) {
      if (status_) status_->finish("failed", e.what());
      spdlog::error("run {} failed at epoch {}: {}", dir_, position_.epoch + 1, e.what());
      throw;
    }
    result.epochs_done = position_.epoch;
    result.best_eval_top1 = position_.best_eval_top1;
    result.best_epoch = position_.best_epoch;
    return result;
  }

 private:
  void log_start() const {
    const auto& c = s_.config;
    spdlog::info("run {}: {} ({} parameters, activation {}) on {} ({} train / {} {} images, {} classes, {}x{}x{})",
                 dir_, c.model.name, nn::count_parameters(*s_.model), c.model.activation, c.data.name,
                 s_.data.train->size(), s_.eval_loader->dataset().size(), s_.eval_split, s_.data.num_classes,
                 s_.data.shape.channels, s_.data.shape.height, s_.data.shape.width);
    spdlog::info("{} epochs x {} iterations of batch {}, {} lr {} with {} schedule, {} threads, {}", c.train.epochs,
                 s_.train_loader->batches_per_epoch(), c.train.batch_size, name_of(c.optim.name), c.optim.lr,
                 name_of(c.schedule.name), num_threads(), name_of(c.train.dtype));
    if (s_.ranks->size() > 1) {
      spdlog::info("data parallel: {} ranks x {} threads ({}), {} images per rank per step, batch-norm statistics {}",
                   s_.ranks->size(), num_threads(), s_.ranks->description(), c.train.batch_size / s_.ranks->size(),
                   c.train.sync_bn ? "synchronised (train.sync_bn)" : "per rank");
    }
    if (position_.epoch > 0 || position_.batch > 0) {
      spdlog::info("resuming after epoch {} batch {} (step {})", position_.epoch, position_.batch, position_.step);
    }
  }

  void save_checkpoints(bool also_best) {
    saved_ = position_;
    if (!writer_) return;
    const std::string bytes =
        checkpoint_bytes(*s_.model, s_.optimizer.get(), position_metadata(position_, s_.config, s_.eval_split));
    // best first: a run killed between the two writes then has a last.safetensors from before this
    // epoch, whose best_epoch still names the best.safetensors on disk (the other order would leave a
    // last.safetensors naming a best that was never written); the resumed run trains the epoch again.
    if (also_best) io::write_file_atomic(path_in(dir_, run_dir::kBestCheckpoint), bytes);
    io::write_file_atomic(path_in(dir_, run_dir::kLastCheckpoint), bytes);
    record_layer_implementations(path_in(dir_, run_dir::kRunInfoFile), *s_.model, s_.config.train.conv_algo);
  }

  // The exposed cost of data parallelism: how long each step waited for its gradients after the
  // backward pass (the all-reduce that did not overlap with it).
  void log_gradient_allreduce(int64_t epoch) {
    const auto& stats = s_.gradient_allreduce->stats();
    if (stats.steps == 0) return;
    const double steps = static_cast<double>(stats.steps);
    spdlog::info("epoch {}: gradient all-reduce over {} ranks: {:.1f} ms per step waited after backward; {:.1f} MB in "
                 "{} buckets per step",
                 epoch, s_.ranks->size(), 1e3 * stats.wait_seconds / steps,
                 static_cast<double>(stats.bytes_reduced) / steps / 1e6,
                 static_cast<int64_t>(static_cast<double>(stats.buckets_reduced) / steps));
    s_.gradient_allreduce->reset_stats();
  }

  void set_status_progress() {
    if (status_) status_->set_progress(position_.epoch, position_.step);
  }

  // The signals every rank acts on at this batch boundary: the largest stop signal any rank has
  // received, and whether any rank was asked for a checkpoint (SIGUSR1), so that all ranks stop or
  // checkpoint at the same boundary (a rank that went on alone would wait forever in the next
  // all-reduce). Returns the stop signal, 0 for none.
  int64_t agree_on_signals(bool* checkpoint_now = nullptr) {
    int64_t wanted[2] = {watching_signals_ ? SignalWatch::stop_signal() : 0,
                         watching_signals_ && SignalWatch::take_checkpoint_request() ? 1 : 0};
    if (s_.ranks->size() > 1) s_.ranks->allreduce_max(wanted, 2);
    agreed_stop_signal_ = wanted[0];
    checkpoint_requested_ = checkpoint_requested_ || wanted[1] != 0;
    if (checkpoint_now != nullptr) *checkpoint_now = std::exchange(checkpoint_requested_, false);
    return wanted[0];
  }

  // Without train.sync_bn each rank's running statistics follow its own batches; before an evaluation
  // every rank takes rank 0's (what rank 0 saves in the checkpoint), so that the sharded evaluation
  // evaluates one model, as PyTorch's DistributedDataParallel broadcasts rank 0's buffers.
  void share_batch_norm_statistics() {
    if (s_.ranks->size() == 1 || s_.config.train.sync_bn) return;
    for (nn::BatchNorm2d* bn : batch_norm_layers(*s_.model)) {
      for (const Tensor* buffer : {&bn->running_mean(), &bn->running_var()}) {
        if (!buffer->defined()) continue;
        s_.ranks->broadcast(buffer->data<float>(), buffer->numel(), 0);
        buffer->bump_version();
      }
    }
  }

  // Where last.safetensors stands, for messages.
  std::string last_checkpoint_text() const {
    if (saved_.epoch == 0 && saved_.batch == 0) return std::string("no ") + run_dir::kLastCheckpoint + " was written yet";
    std::string text = std::string(run_dir::kLastCheckpoint) + " keeps the last good state (epoch " + std::to_string(saved_.epoch);
    if (saved_.batch > 0) text += " and " + std::to_string(saved_.batch) + " batches of epoch " + std::to_string(saved_.epoch + 1);
    return text + ")";
  }

  // Trains until the last epoch or a stop signal; returns the final state.
  // The epochs from the position on: "finished", or "interrupted" when a stop signal was agreed.
  std::string loop(TrainResult* result) {
    for (int64_t epoch = position_.epoch + 1; epoch <= s_.config.train.epochs; ++epoch) {
      const auto epoch_start = Clock::now();
      const double seconds_before = position_.train_seconds;  // of this epoch before a resume
      if (!train_one_epoch(epoch)) return "interrupted";
      EpochMetrics m = epoch_metrics(epoch);
      double measurement_seconds = 0;
      const bool improved = evaluate_epoch(&m, &measurement_seconds);
      // The dead-unit measurement's cost is kept out of epoch_time_s.
      m.epoch_time_s = seconds_since(epoch_start) + seconds_before - measurement_seconds;
      record_epoch(m, improved);
      result->epochs.push_back(m);
      log_epoch(m, improved);
      if (agree_on_signals() != 0) {
        spdlog::warn("interrupted (signal {}) after epoch {}; continue with 'sugar train --resume {}'",
                     agreed_stop_signal_, epoch, dir_);
        return "interrupted";
      }
    }
    return "finished";
  }

  // The epoch's training steps from the position's batch on, honouring signals and periodic
  // checkpoints at every batch boundary. False when a stop signal interrupted it (checkpoint saved).
  bool train_one_epoch(int64_t epoch) {
    const auto& train_config = s_.config.train;
    const bool bar = writer_ && options_.progress_bar.value_or(stderr_is_terminal());
    const int64_t batches = s_.train_loader->batches_per_epoch();
    s_.model->train();
    if (neuron_stats_) neuron_stats_->reset_gradients();
    s_.train_loader->start_epoch(epoch - 1, position_.batch);
    const std::string label = "epoch " + std::to_string(epoch) + "/" + std::to_string(train_config.epochs);
    EpochProgress progress(label, batches, bar,
                           [&](const std::string& line) {
                             if (!writer_) return;  // rank 0 reports for all
                             if (bar) log_->file_only().info("{}", line);
                             else spdlog::info("{}", line);
                           },
                           options_.log_interval);
    const double seconds_before = position_.train_seconds;
    const auto train_start = Clock::now();
    int64_t skipped = 0;
    while (auto batch = s_.train_loader->next()) {
      if (!s_.train_loader->every_part_has_samples(batch->global_size)) {
        // Only the last batch of an epoch can be this small; every rank sees the same global size.
        spdlog::debug("epoch {}: the last batch ({} images) leaves one of the {} ranks without an image; not "
                      "trained on", epoch, batch->global_size, s_.ranks->size());
        continue;
      }
      if (train_step(*batch, &skipped)) {
        if (!conv_algorithms_reported_) report_conv_algorithms();
        position_.train_seconds = seconds_before + seconds_since(train_start);
        progress.update(position_.batch, position_.seen, position_.loss_sum / static_cast<double>(position_.seen),
                        100.0 * static_cast<double>(position_.correct) / static_cast<double>(position_.seen));
        if (options_.after_step) options_.after_step(epoch, position_.step);
      }
      // A skipped batch is still a batch boundary: an interrupt or a periodic checkpoint is honoured.
      bool checkpoint_now = false;
      if (agree_on_signals(position_.batch < batches ? &checkpoint_now : nullptr) != 0) {
        progress.finish();
        save_checkpoints(false);
        set_status_progress();
        spdlog::warn("interrupted (signal {}) at epoch {} batch {}/{}; saved {}; continue with 'sugar train --resume {}'",
                     agreed_stop_signal_, epoch, position_.batch, batches, run_dir::kLastCheckpoint, dir_);
        s_.train_loader->stop();
        return false;
      }
      if (checkpoint_now) {
        save_checkpoints(false);
        spdlog::info("checkpoint requested (SIGUSR1): saved {} at epoch {} batch {}/{} (step {})",
                     run_dir::kLastCheckpoint, epoch, position_.batch, batches, position_.step);
      } else if (train_config.checkpoint_every_steps > 0 &&
                 position_.step % train_config.checkpoint_every_steps == 0 && position_.batch < batches) {
        save_checkpoints(false);
      }
    }
    progress.finish();
    position_.train_seconds = seconds_before + seconds_since(train_start);
    if (skipped > 0) {
      spdlog::warn("epoch {}: skipped {} of {} batches with a non-finite loss or gradient", epoch, skipped, batches);
    }
    if (s_.gradient_allreduce) log_gradient_allreduce(epoch);
    return true;
  }

  // The training columns of the epoch's metrics.csv row, from the position's sums.
  EpochMetrics epoch_metrics(int64_t epoch) const {
    EpochMetrics m;
    m.epoch = epoch;
    SUGAR_CHECK(position_.seen > 0, "epoch ", epoch, ": every training batch had a non-finite loss or gradient ",
                "(train.on_nonfinite=skip_batch skipped them all); lower optim.lr");
    m.train_loss = position_.loss_sum / static_cast<double>(position_.seen);
    m.train_top1 = 100.0 * static_cast<double>(position_.correct) / static_cast<double>(position_.seen);
    m.lr = position_.last_lr;
    m.train_imgs_per_sec = position_.train_seconds > 0 ? static_cast<double>(position_.seen) / position_.train_seconds : 0;
    m.evaluated = m.epoch % s_.config.train.eval_every == 0 || m.epoch == s_.config.train.epochs;
    return m;
  }

  // The evaluation of an evaluated epoch (its columns in `m`) and the dead-unit measurement, which rides
  // on the evaluation when that is over the test set (a separate pass otherwise); its seconds go to
  // `measurement_seconds`. True when the evaluation is the best so far (never for non-finite outputs).
  bool evaluate_epoch(EpochMetrics* m, double* measurement_seconds) {
    bool improved = false;
    const bool measure_in_eval = neuron_stats_ && m->evaluated && s_.eval_split == "test";
    share_batch_norm_statistics();
    if (m->evaluated) {
      if (measure_in_eval) neuron_stats_->begin_measurement();
      const EvalResult eval = evaluate(*s_.model, *s_.eval_loader, s_.dtype, *s_.ranks);
      if (measure_in_eval) {
        neuron_stats_->end_measurement();
        *measurement_seconds = neuron_stats_->measurement_seconds();
      }
      s_.model->train();
      m->eval_loss = eval.loss;
      m->eval_top1 = eval.top1;
      m->eval_top5 = eval.top5;
      m->eval_split = s_.eval_split;
      if (!eval.finite()) {
        // Never the best checkpoint: NaN logits would otherwise have looked like a perfect score.
        spdlog::warn("epoch {}: the model produces non-finite outputs (NaN or Inf logits) for {} of {} {} images; "
                     "{} loss {}", m->epoch, eval.nonfinite_samples, eval.samples, s_.eval_split, s_.eval_split, eval.loss);
      } else if (eval.top1 > position_.best_eval_top1) {
        improved = true;
        position_.best_eval_top1 = eval.top1;
        position_.best_epoch = m->epoch;
      }
    }
    if (neuron_stats_ && !measure_in_eval) {
      const auto measure_start = Clock::now();
      measure_activations(*s_.model, test_loader(), s_.dtype, *neuron_stats_);
      s_.model->train();
      *measurement_seconds = seconds_since(measure_start);
    }
    if (neuron_stats_) neuron_stats_->combine_ranks(*s_.ranks);
    return improved;
  }

  // The epoch's rows, then its checkpoints: a run killed in between resumes from the previous
  // checkpoint, and resume drops the orphan rows (train/resume_plan.hpp).
  void record_epoch(const EpochMetrics& m, bool improved) {
    if (files_.csv) files_.csv->append(m);
    if (neuron_stats_ && files_.neurons) files_.neurons->append(m.epoch, neuron_stats_->results());
    position_.epoch = m.epoch;
    position_.batch = 0;
    position_.loss_sum = 0;
    position_.correct = 0;
    position_.seen = 0;
    position_.train_seconds = 0;
    save_checkpoints(improved);
    release_free_memory();
    set_status_progress();
  }

  void log_epoch(const EpochMetrics& m, bool improved) const {
    const int64_t epochs = s_.config.train.epochs;
    if (m.evaluated) {
      spdlog::info("epoch {}/{}: train loss {:.4f} top-1 {:.2f}% | {} loss {:.4f} top-1 {:.2f}% top-5 {:.2f}% | lr {:.6g} | {:.1f} s, {:.1f} img/s{}",
                   m.epoch, epochs, m.train_loss, m.train_top1, m.eval_split, m.eval_loss, m.eval_top1, m.eval_top5,
                   m.lr, m.epoch_time_s, m.train_imgs_per_sec, improved ? " (best)" : "");
    } else {
      spdlog::info("epoch {}/{}: train loss {:.4f} top-1 {:.2f}% | lr {:.6g} | {:.1f} s, {:.1f} img/s", m.epoch, epochs,
                   m.train_loss, m.train_top1, m.lr, m.epoch_time_s, m.train_imgs_per_sec);
    }
  }

  // Once, after this process's first step has decided every convolution's algorithm: how they were
  // made, in the log and in run.json, and a warning when some are provisional (their timings could not
  // decide), since such a run may be slower than it could be.
  void report_conv_algorithms() {
    conv_algorithms_reported_ = true;
    if (!writer_ || s_.config.train.conv_algo != ops::ConvAlgoPolicy::automatic) return;
    const auto choices = nn::conv_algorithm_choices(*s_.model);
    spdlog::info("convolution algorithms (auto): {}", nn::conv_algorithm_summary(choices));
    if (const int64_t provisional = nn::count_provisional(choices); provisional > 0)
      spdlog::warn("{} convolution layer(s) run provisional algorithm choices: their timings could not decide "
                   "(too close to call, or other processes were using the machine), so they run the prior; "
                   "'sugar tune {}{}' on a quiet machine measures them again for later runs (run.json lists why)",
                   provisional, path_in(dir_, run_dir::kConfigFile),
                   s_.ranks->size() > 1 ? " --ranks " + std::to_string(s_.ranks->size()) : std::string());
    record_layer_implementations(path_in(dir_, run_dir::kRunInfoFile), *s_.model, s_.config.train.conv_algo);
  }

  // One optimizer iteration; false when the batch was skipped for a non-finite loss or gradient.
  bool train_step(const data::Batch& batch, int64_t* skipped) {
    const bool may_skip = s_.config.train.on_nonfinite == config::NonfinitePolicy::skip_batch;
    const double lr = s_.schedule->lr(position_.step);
    s_.optimizer->set_lr(lr);
    if (const auto momentum = s_.schedule->momentum(position_.step)) s_.optimizer->set_momentum(*momentum);
    // The forward updates BatchNorm's running statistics: keep what they were, to undo a skipped batch.
    if (may_skip) state_before_batch_.save();
    const Tensor images = s_.dtype == DType::f32 ? batch.images : batch.images.to_dtype(s_.dtype);
    // Dropout masks and RReLU slopes of this rank's samples are those one process would draw for them.
    const nn::SampleOffsetGuard sample_offset(batch.shard_offset);
    const Tensor logits = (*s_.model)(images);
    const auto smoothing = static_cast<float>(s_.config.train.label_smoothing);
    const Tensor loss = batch.mixed()
                            ? ops::cross_entropy(logits, {batch.labels, batch.partner_labels, batch.own_weight}, smoothing)
                            : ops::cross_entropy(logits, batch.labels, smoothing);
    const auto n = batch.size();
    const std::vector<float> values = logits.to_vector();
    // The step's sums over the global batch (with one rank, over this batch): every rank then reports
    // the same loss and decides alike whether it is finite. Under mixing, train top-1 counts a sample
    // right when it names the label that weighs more in its target (its own on a tie).
    const std::vector<int32_t>& scored =
        batch.mixed() && batch.own_weight < 0.5 ? batch.partner_labels : batch.labels;
    double sums[3] = {static_cast<double>(loss.item()) * static_cast<double>(n),
                      static_cast<double>(count_top_k(values, logits.dim(1), scored, 1)), static_cast<double>(n)};
    if (s_.ranks->size() > 1) s_.ranks->allreduce_sum(sums, 3);
    const double loss_value = sums[0] / sums[2];
    ++position_.step;
    ++position_.batch;
    position_.last_lr = lr;
    if (!std::isfinite(loss_value)) {
      autograd::clear_tape();
      reject_batch(std::string("training loss (") + (std::isnan(loss_value) ? "NaN" : loss_value > 0 ? "+Inf" : "-Inf") + ")",
                   skipped);
      return false;
    }
    s_.optimizer->zero_grad();
    // This rank's loss is the mean over its part of the global batch: weighted by its share, the
    // gradients summed over ranks are those of the global batch's mean loss. The weight goes in at the
    // start of the backward, so that every gradient on the way, down to each batch norm's input
    // gradient, is already this rank's term of the global one: sync_bn sums those terms across ranks,
    // which is right only if they share one scale when the parts differ in size (mixing's pairs, or a
    // last batch that does not split evenly). With one rank the share is 1 and nothing changes.
    const double share = static_cast<double>(n) / static_cast<double>(batch.global_size);
    if (s_.gradient_allreduce) s_.gradient_allreduce->begin_step(1.0);  // the weight is in the backward's seed
    autograd::backward(loss, Tensor::from_vector({1}, {static_cast<float>(share)}));
    if (s_.gradient_allreduce) s_.gradient_allreduce->finish_step();
    if (options_.after_backward) options_.after_backward(position_.epoch + 1, position_.step, *s_.model);
    if (const auto parameter = first_nonfinite_gradient(parameters_)) {
      s_.optimizer->zero_grad();
      reject_batch("gradient of " + *parameter, skipped);
      return false;
    }
    // After the all-reduce: every rank clips the same global gradients alike.
    if (s_.config.optim.clip_grad_norm > 0) optim::clip_grad_norm_(s_.model->parameters(), s_.config.optim.clip_grad_norm);
    s_.optimizer->step();
    position_.loss_sum += sums[0];
    position_.correct += static_cast<int64_t>(sums[1]);
    position_.seen += static_cast<int64_t>(sums[2]);
    return true;
  }

  // A batch whose loss or gradient is not finite: stop the run (nothing is saved after the last good
  // checkpoint: the exception ends the run before the next save), or undo the batch's forward and go on.
  void reject_batch(const std::string& what, int64_t* skipped) {
    const int64_t batches = s_.train_loader->batches_per_epoch();
    if (s_.config.train.on_nonfinite != config::NonfinitePolicy::skip_batch) {
      throw Error("non-finite " + what + " at epoch " + std::to_string(position_.epoch + 1) + " step " +
                  std::to_string(position_.step) + " (batch " + std::to_string(position_.batch) + " of " +
                  std::to_string(batches) + "); " + last_checkpoint_text() +
                  "; lower optim.lr, or set train.on_nonfinite=skip_batch");
    }
    state_before_batch_.restore();
    ++*skipped;
    spdlog::debug("epoch {} step {}: non-finite {}; batch skipped", position_.epoch + 1, position_.step, what);
  }

  // The test set in evaluation order, for the dead-unit measurement when the evaluation does not
  // cover it (a validation split, or an epoch without evaluation); built on first use.
  data::DataLoader& test_loader() {
    if (!test_loader_) test_loader_ = build_eval_loader(s_.config, s_.data.test, s_.data.normalization, *s_.ranks);
    return *test_loader_;
  }

  Session& s_;
  std::string dir_;
  TrainOptions options_;
  TrainingPosition position_;
  TrainingPosition saved_;  // the position last.safetensors holds
  RunFiles files_;
  bool writer_;                       // rank 0: the one that writes the run directory
  run_dir::RunStatus* status_ = nullptr;       // rank 0 only
  RunLog* log_ = nullptr;             // rank 0 only
  int64_t agreed_stop_signal_ = 0;
  bool watching_signals_ = false;      // options_.handle_signals: a SignalWatch is active
  bool conv_algorithms_reported_ = false;
  bool checkpoint_requested_ = false;  // SIGUSR1 arrived at the last batch of an epoch: saved at its end
  nn::NamedTensors parameters_;       // checked for non-finite gradients before every update
  StateSnapshot state_before_batch_;  // BatchNorm statistics before the batch (train.on_nonfinite=skip_batch)
  std::unique_ptr<NeuronStats> neuron_stats_;
  std::unique_ptr<data::DataLoader> test_loader_;
};

}  // namespace

TrainResult run_training(Session& session, const std::string& dir, const TrainOptions& options,
                         const TrainingPosition& start, RunFiles files) {
  Run run(session, dir, options, start, files);
  return run.execute();
}

}  // namespace sugar::train
