#include "sugar/memory_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sugar/error.hpp"

namespace sugar::memory_pool {
namespace {

constexpr size_t kPageBytes = 4096;
constexpr size_t kHugePageBytes = size_t{2} << 20;

size_t round_up(size_t bytes, size_t multiple) { return (bytes + multiple - 1) / multiple * multiple; }

struct BlockState {
  size_t bytes = 0;
  bool free = false;
};

// One mapping from the kernel, cut into consecutive blocks (keyed by address).
struct Segment {
  size_t bytes = 0;
  std::map<char*, BlockState> blocks;
  bool wholly_free() const { return blocks.size() == 1 && blocks.begin()->second.free; }
};

struct Pool {
  std::mutex mutex;
  std::map<char*, Segment> segments;               // by base address
  std::set<std::pair<size_t, char*>> free_blocks;  // (bytes, address): best fit is a lower_bound
  size_t peak_in_use_bytes = 0;
  Stats stats;
};

Pool& pool() {
  static Pool* instance = new Pool;  // never destroyed: tensors may be freed by static destructors
  return *instance;
}

// The segment that holds `address`. Caller holds the lock.
std::map<char*, Segment>::iterator segment_of(Pool& p, char* address) {
  auto after = p.segments.upper_bound(address);
  SUGAR_CHECK(after != p.segments.begin(), "memory pool: released a block it did not hand out");
  auto segment = std::prev(after);
  SUGAR_CHECK(address < segment->first + segment->second.bytes, "memory pool: released a block it did not hand out");
  return segment;
}

// Marks the block at `address` (free, `bytes` or more) in use for `size` bytes; the rest of it, if
// large enough to serve a request, becomes a free block of its own.
void use_block(Pool& p, Segment& segment, char* address, size_t size) {
  BlockState& block = segment.blocks.at(address);
  p.free_blocks.erase({block.bytes, address});
  p.stats.free_bytes -= block.bytes;
  if (block.bytes - size >= kMinPooledBytes) {
    const size_t rest = block.bytes - size;
    block.bytes = size;
    segment.blocks[address + size] = {rest, true};
    p.free_blocks.insert({rest, address + size});
    p.stats.free_bytes += rest;
  }
  block.free = false;
}

// Unmaps wholly free segments until `bytes` are returned or none is left. Caller holds the lock; the
// kernel calls happen under it too, but only when the pool outgrows its budget, which a steady
// training loop does not.
void return_free_segments(Pool& p, size_t bytes) {
  size_t returned = 0;
  for (auto it = p.segments.begin(); it != p.segments.end() && returned < bytes;) {
    if (!it->second.wholly_free()) {
      ++it;
      continue;
    }
    const size_t segment_bytes = it->second.bytes;
    p.free_blocks.erase({segment_bytes, it->first});
    p.stats.free_bytes -= segment_bytes;
    p.stats.held_bytes -= segment_bytes;
    munmap(it->first, segment_bytes);
    returned += segment_bytes;
    it = p.segments.erase(it);
  }
}

// Makes every page of [start, start + bytes) resident (huge pages where granted); false when the kernel
// has not the memory. MADV_POPULATE_WRITE (Linux 5.14) reports that as an error; on older kernels each
// page is written, as the first use would have.
bool populate(char* start, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  if (madvise(start, bytes, MADV_POPULATE_WRITE) == 0) return true;
  if (errno != EINVAL) return false;  // EINVAL: a kernel without it
#endif
  for (size_t offset = 0; offset < bytes; offset += kPageBytes) start[offset] = 0;
  return true;
}

// Fresh zero pages from the kernel, `bytes` (a multiple of kSegmentMultiple) starting on a 2 MiB
// boundary and advised for transparent huge pages; MAP_FAILED when the kernel refuses. Huge pages
// matter for the convolutions: ResNet-18's last-stage backward-weights, which walks 9.4 MB of f32
// weight gradients and 2 MB of activations, took 23 ms per call inside a bf16 training step on 4 KiB
// pages against 15 ms alone; on huge pages 15 ms (TLB misses). Debian's default THP mode is
// "madvise": without the advice nothing gets them. Where THP is off the advice is ignored.
//
// The segment is then populated at once, every page of it, so that its resident size is the kernel's
// decision at one moment and not later: advised but left to fault in as used, any 2 MiB range that
// holds one touched page may be collapsed into a huge page by khugepaged at some later time
// (max_ptes_none is 511 by default), and the resident set would creep up between epochs by chance.
void* map_segment(size_t bytes) {
  static_assert(kSegmentMultiple % kHugePageBytes == 0);
  // Over-map by one huge page and trim, so that the segment is aligned and every 2 MiB of it can be one page.
  void* mapped = mmap(nullptr, bytes + kHugePageBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return MAP_FAILED;
  char* start = static_cast<char*>(mapped);
  char* aligned = reinterpret_cast<char*>(round_up(reinterpret_cast<uintptr_t>(start), kHugePageBytes));
  if (aligned > start) munmap(start, static_cast<size_t>(aligned - start));
  char* end = start + bytes + kHugePageBytes;
  if (end > aligned + bytes) munmap(aligned + bytes, static_cast<size_t>(end - (aligned + bytes)));
  madvise(aligned, bytes, MADV_HUGEPAGE);  // a hint: failing (THP not built in) changes nothing else
  if (!populate(aligned, bytes)) {
    munmap(aligned, bytes);
    errno = ENOMEM;
    return MAP_FAILED;
  }
  return aligned;
}

}  // namespace

void* allocate(size_t bytes) {
  // Far beyond any machine's memory; also keeps the rounding below from wrapping around.
  constexpr size_t kLargestRequest = size_t{1} << 46;
  if (bytes > kLargestRequest)
    throw Error("tensor: out of memory allocating " + std::to_string(bytes) + " bytes (more than 64 TiB)");
  const size_t size = round_up(std::max<size_t>(bytes, 1), kPageBytes);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  const size_t in_use_bytes = p.stats.held_bytes - p.stats.free_bytes + size;

  const auto best_fit = p.free_blocks.lower_bound({size, nullptr});
  if (best_fit != p.free_blocks.end()) {
    char* address = best_fit->second;
    use_block(p, segment_of(p, address)->second, address, size);
    p.peak_in_use_bytes = std::max(p.peak_in_use_bytes, in_use_bytes);
    ++p.stats.reused;
    return address;
  }
  const size_t segment_bytes = round_up(size, kSegmentMultiple);
  const size_t peak_in_use_bytes = std::max(p.peak_in_use_bytes, in_use_bytes);
  const auto budget = static_cast<size_t>(static_cast<double>(peak_in_use_bytes) * (1.0 + kSlack));
  if (p.stats.held_bytes + segment_bytes > budget) return_free_segments(p, p.stats.held_bytes + segment_bytes - budget);
  void* mapped = map_segment(segment_bytes);
  if (mapped == MAP_FAILED) {  // the kernel may grant it once every free segment is back
    return_free_segments(p, p.stats.held_bytes);
    mapped = map_segment(segment_bytes);
  }
  if (mapped == MAP_FAILED)
    throw Error("tensor: out of memory allocating " + std::to_string(bytes) + " bytes (" + std::strerror(errno) + ")");
  // Only a request that succeeded raises the peak: a failed one must not loosen the budget for good.
  p.peak_in_use_bytes = peak_in_use_bytes;
  char* address = static_cast<char*>(mapped);
  Segment& segment = p.segments[address];
  segment.bytes = segment_bytes;
  segment.blocks[address] = {segment_bytes, true};
  p.free_blocks.insert({segment_bytes, address});
  p.stats.free_bytes += segment_bytes;
  p.stats.held_bytes += segment_bytes;
  use_block(p, segment, address, size);
  ++p.stats.mapped;
  return address;
}

void release(void* block) {
  char* address = static_cast<char*>(block);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  Segment& segment = segment_of(p, address)->second;
  auto it = segment.blocks.find(address);
  SUGAR_CHECK(it != segment.blocks.end() && !it->second.free, "memory pool: released a block it did not hand out");
  it->second.free = true;
  p.stats.free_bytes += it->second.bytes;
  // Merge with free neighbours, so that a later, larger request finds one block.
  const auto next = std::next(it);
  if (next != segment.blocks.end() && next->second.free) {
    p.free_blocks.erase({next->second.bytes, next->first});
    it->second.bytes += next->second.bytes;
    segment.blocks.erase(next);
  }
  if (it != segment.blocks.begin()) {
    const auto previous = std::prev(it);
    if (previous->second.free) {
      p.free_blocks.erase({previous->second.bytes, previous->first});
      previous->second.bytes += it->second.bytes;
      segment.blocks.erase(it);
      it = previous;
    }
  }
  p.free_blocks.insert({it->second.bytes, it->first});
}

Stats stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.stats;
}

void return_free_blocks() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return_free_segments(p, p.stats.held_bytes);
  p.peak_in_use_bytes = p.stats.held_bytes - p.stats.free_bytes;  // a fresh start for the budget
}

}  // namespace sugar::memory_pool
