#pragma once
// auto's measured choices, kept on disk for the whole machine. Timing two algorithms is at the mercy
// of whatever else the machine is doing, so two fresh runs of one config could choose differently and
// then compute differently. With the store, the first process that measures a layer shape decides it
// for every later one on this machine: the next run, a sweep's other cells, the other ranks of an
// mpirun on this host, sugar bench (so the benchmark times what training runs).
//
// The file is <dir>/conv-algorithms-<machine>.json: dir is $SUGAR_CACHE_DIR, else
// $XDG_CACHE_HOME/sugar, else $HOME/.cache/sugar (SUGAR_CACHE_DIR=off turns the store off), and
// <machine> is a hash of the CPU model, oneDNN's version and the instruction set it runs, so a home
// directory shared by different machines keeps one file each. Entries are keyed by thread count, the
// passes measured and the layer shape. Delete the file to measure again.
#include <functional>
#include <string>

#include "sugar/ops/conv_algorithm.hpp"

namespace sugar::ops::conv_detail {

// The file the store uses now ("" when it is off or there is no directory to put it in).
std::string machine_choice_file();

// The stored choice for `key` (its source set to "machine cache"), or else what `measure` returns,
// which is then stored. An flock on <file>.lock is held throughout, so of two processes reaching the
// same layer at once one measures and the other reads its result. A file that cannot be read, parsed
// or written is reported once (a warning) and the choice is measured as if there were no store.
ConvLayerChoice machine_cached_choice(const std::string& key, const std::function<ConvLayerChoice()>& measure);

}  // namespace sugar::ops::conv_detail
