#pragma once
// The process-wide oneDNN engine and stream, and the thread count shared by OpenMP and oneDNN
// (this oneDNN build uses the OpenMP runtime, so one setting reaches both); what the process runs on
// and as (CPU, oneDNN and Sugar versions).
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace sugar {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

// Sets the threads used by every following op; n <= 0 means "all hardware threads".
void set_num_threads(int n);
int num_threads();

// Training allocates and frees the same large activation buffers every step. glibc serves blocks above
// its mmap threshold (at most 32 MB by default; a ResNet-18 activation at batch 128 is 33 MB) with
// fresh mmaps, so every step paid page faults and kernel zeroing on tens of MB: measured, 2-4x slower
// training. This keeps such blocks in the heap, and the heap untrimmed, so that they are reused. The
// trainer and `sugar bench` call it (a benchmark of training must train the way the trainer does).
// Tensors of 256 KiB and more no longer come from the heap (sugar/memory_pool.hpp); what still does is
// oneDNN's own buffers (the scratchpads of non-convolution primitives) and smaller blocks.
void keep_large_blocks_in_the_heap();

// "model name" and "flags" of the first processor in /proc/cpuinfo (empty when unreadable).
std::string cpu_model_name();
std::vector<std::string> cpu_flags();

// "2.6.3 (commit ...)" of the oneDNN library actually loaded.
std::string onednn_version();
// Sugar's own version and the git commit it was built from.
std::string sugar_version();
std::string sugar_git_commit();

}  // namespace sugar
