#pragma once
// Where tensors' large blocks (and convolutions' scratchpads) come from. A training step frees and
// allocates the same activation and gradient buffers every step. In glibc's heap they left holes that
// small long-lived objects pinned: ResNet-18 at batch 128 never held more than 726 MiB of tensors at
// once, yet the process reached 1.2-1.4 GiB. Giving blocks back to the kernel on every free instead
// costs page faults on every reuse (measured: 2.5-4x slower steps on this machine).
//
// The pool maps segments of its own (multiples of kSegmentMultiple, on 2 MiB boundaries, advised for
// transparent huge pages and made resident at once: memory_pool.cpp says why) and cuts them into blocks. A
// request takes the smallest free block that holds it, splitting off the rest; a released block merges
// with free neighbours. A request that no free block holds maps a new segment, first returning wholly
// free segments to the kernel while the pool would otherwise hold more than (1 + kSlack) times the
// most bytes ever in use at once. In a steady training loop no step maps anything after the first
// two. Measured (ResNet-18 / VGG-16 training, batch 128, conv_algo auto, peak RSS): glibc's heap 1395
// / 930 MiB; this pool 902-999 / 738-749 MiB. Tried first for ResNet-18: one free list per exact size
// without splitting, 1128 MiB (and re-mapping every step unless allowed 50% slack).
#include <cstddef>
#include <cstdint>

namespace sugar::memory_pool {

// Requests below this size go to the ordinary heap: they are many, small, and fragment little.
constexpr size_t kMinPooledBytes = size_t{256} << 10;
constexpr size_t kSegmentMultiple = size_t{2} << 20;
constexpr double kSlack = 0.25;

// A page-aligned block of at least `bytes`, its contents undefined. Throws sugar::Error when the
// kernel refuses the memory.
void* allocate(size_t bytes);
// Gives back a block from allocate() for reuse.
void release(void* block);

struct Stats {
  size_t held_bytes = 0;  // blocks mapped now, in use or free
  size_t free_bytes = 0;  // the free part of held_bytes
  uint64_t reused = 0;    // requests served with a free block
  uint64_t mapped = 0;    // requests that mapped a new segment
};
Stats stats();

// Returns every free block to the kernel; the budget starts again from the blocks in use.
void return_free_blocks();

}  // namespace sugar::memory_pool
