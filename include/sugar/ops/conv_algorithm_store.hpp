#pragma once
// auto's measured choices, kept on disk for the whole machine, and the hooks that steer how choices
// are made: `sugar tune` (measure again), data parallelism (one rank decides for all) and tests
// (made-up timings).
//
// Timing two algorithms is at the mercy of whatever else the machine is doing, so two fresh runs of
// one config could choose differently and then compute differently. With the store, a choice measured
// clearly (conv_decision.hpp) by one process is what every later process on this machine runs for
// that layer, batch, thread count, input layout and set of passes: the next run, a sweep's other
// cells, sugar bench (so the benchmark times what training runs). A provisional choice (the timings
// could not decide, or the machine was busy) is stored too, but the next run that meets it measures
// again, and keeps the new result when it is clear.
//
// The file is <dir>/conv-algorithms-<machine>.json: dir is $SUGAR_CACHE_DIR, else
// $XDG_CACHE_HOME/sugar, else $HOME/.cache/sugar (SUGAR_CACHE_DIR=off turns the store off), and
// <machine> is a hash of the CPU model, oneDNN's version, the instruction set it runs and the version
// of the measurement, so a home directory shared by different machines keeps one file each, and a
// new way of measuring starts a new file. `sugar tune --reset` deletes it.
//
// The file is an input like any other: it is read through the bounded reader; a file that is not
// this format, or belongs to another machine signature, is moved aside to <file>.corrupt with a
// warning and rebuilt; an entry that does not parse, names another layer, was not made by auto or
// names an algorithm this machine cannot run is measured again and replaced; a file that cannot be
// read is left alone (the process measures for itself). An flock on <file>.lock serialises processes
// (waiting at most two minutes for another), writes go through a temporary file and a rename, so a
// reader never sees half a file, and a store in a directory this user cannot write is used read-only.
#include <functional>
#include <string>

#include "sugar/ops/conv_algorithm.hpp"
#include "sugar/ops/conv_decision.hpp"

namespace sugar::ops {

// The file the store uses now ("" when it is off or there is no directory to put it in).
std::string machine_choice_file();

// Deletes the store's file, under its lock (the lock file stays); returns the path deleted, "" when
// there was none. Throws sugar::Error when it exists but cannot be locked or deleted.
std::string forget_machine_choices();

// The last warning this process gave about the store (it could not be read, locked or written; an
// entry or the whole file was damaged), "" when none: `sugar tune` fails when its results were not kept.
std::string machine_store_problem();

// While on (`sugar tune`), every auto decision of this process measures afresh and replaces the
// stored entry, clear or provisional.
void set_conv_remeasure(bool on);

// Data parallelism: every rank must run the same algorithms. When set, each decision that this
// process would make is handed to `agreement` with the undecided choice (layer and policy filled in)
// and a function that decides it here; it returns the choice every rank runs (rank 0 decides, the
// others receive). Unset (the default): decide here. Every rank reaches the same decisions in the
// same order, since all run the same model on the same shapes.
using ConvChoiceAgreement =
    std::function<ConvLayerChoice(const ConvLayerChoice& undecided, const std::function<ConvLayerChoice()>& decide_here)>;
void set_conv_choice_agreement(ConvChoiceAgreement agreement);

// For tests: the timings auto's rule sees for a layer ("f32 16x10x10->..." with " | batch N"
// appended) and pass ("forward", "backward_data", "backward_weights") instead of real ones. Unset:
// real timings.
using ConvTimingSource = std::function<PassTimings(const std::string& layer_and_batch, const std::string& pass)>;
void set_conv_timing_source_for_tests(ConvTimingSource source);

namespace conv_detail {

// The stored choice for `key` (its source set to "machine cache") when the entry is clear, names
// `layer`, was made by auto and is `usable` here, or else what `measure` returns, which is then
// stored (while remeasuring, a provisional result does not replace a clear entry: the entry is kept
// and returned). An flock on <file>.lock is held throughout, so of two processes reaching the same
// layer at once one measures and the other reads its result when it is clear. A file that cannot be
// read, locked or written is reported once (a warning) and the choice is measured as if there were no
// store.
ConvLayerChoice machine_cached_choice(const std::string& key, const std::string& layer,
                                      const std::function<bool(const ConvLayerChoice&)>& usable,
                                      const std::function<ConvLayerChoice()>& measure);

}  // namespace conv_detail
}  // namespace sugar::ops
