// The memory pool: reuse, best fit, splitting and merging of blocks, returning memory to the kernel,
// and the tensor byte counters. Every test runs in a process of its own (gtest_discover_tests), so
// the pool starts empty; each test still checks that precondition rather than assume it.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/mman.h>

#include "sugar/error.hpp"
#include "sugar/memory_pool.hpp"
#include "sugar/tensor.hpp"

namespace {
using namespace sugar;
namespace pool = sugar::memory_pool;

constexpr size_t kMiB = size_t{1} << 20;

char* allocate(size_t bytes) { return static_cast<char*>(pool::allocate(bytes)); }

// The pool starts each test empty (its own process); returns false (and fails) otherwise.
bool pool_is_empty() {
  pool::return_free_blocks();
  EXPECT_EQ(pool::stats().held_bytes, 0u) << "a block from before the test is still in use";
  return pool::stats().held_bytes == 0;
}

TEST(MemoryPool, AReleasedBlockServesTheNextRequestOfItsSizeWithoutMappingAgain) {
  ASSERT_TRUE(pool_is_empty());
  const pool::Stats start = pool::stats();  // mapped and reused count since the process began
  char* first = allocate(3 * kMiB);
  std::memset(first, 7, 3 * kMiB);  // the block is writable over its whole size
  pool::release(first);
  const pool::Stats before = pool::stats();
  EXPECT_EQ(before.mapped - start.mapped, 1u);
  EXPECT_EQ(before.held_bytes, 4 * kMiB);  // one segment, rounded up to the 2 MiB multiple
  EXPECT_EQ(before.free_bytes, 4 * kMiB);  // the 1 MiB rest was split off and merged back
  char* second = allocate(3 * kMiB);
  EXPECT_EQ(second, first);
  EXPECT_EQ(pool::stats().mapped - start.mapped, 1u);
  EXPECT_EQ(pool::stats().reused - start.reused, 1u);
  EXPECT_EQ(pool::stats().free_bytes, 1 * kMiB);
  pool::release(second);
}

// The kernel's own view of the mapping that holds `address` (/proc/self/smaps): its "THPeligible" field,
// 1 when transparent huge pages may back it (THP enabled, and advised where the mode is "madvise").
int huge_page_eligible(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto where = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long start = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &start, &end) == 2 && line.find(':') > line.find(' ')) {
      inside = start <= where && where < end;
      continue;
    }
    int eligible = 0;
    if (inside && std::sscanf(line.c_str(), "THPeligible: %d", &eligible) == 1) return eligible;
  }
  return -1;
}

std::string huge_page_mode() {
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::stringstream text;
  text << mode.rdbuf();
  return text.str();
}

TEST(MemoryPool, SegmentsStartOn2MiBBoundariesAndAreAdvisedForHugePages) {
  ASSERT_TRUE(pool_is_empty());
  char* block = allocate(6 * kMiB);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(block) % (2 * kMiB), 0u) << "the segment is not 2 MiB aligned";
  const std::string mode = huge_page_mode();
  if (mode.empty() || mode.find("[never]") != std::string::npos) {
    pool::release(block);
    GTEST_SKIP() << "transparent huge pages are off here: '" << mode << "'";
  }
  const int eligible = huge_page_eligible(block);
  pool::release(block);
  if (eligible == -1) GTEST_SKIP() << "this kernel's /proc/self/smaps has no THPeligible field (Linux < 5.0)";
  EXPECT_EQ(eligible, 1) << "THP mode '" << mode << "', but the kernel will not back the pool with huge pages";
}

// Populated when mapped (memory_pool.cpp says why): every page of a fresh segment is resident before
// anything writes to it. mincore() is the kernel's answer, per 4 KiB page; a plain mmap has none.
TEST(MemoryPool, AFreshSegmentIsResidentBeforeItsFirstUse) {
  ASSERT_TRUE(pool_is_empty());
  const pool::Stats start = pool::stats();
  char* block = allocate(6 * kMiB);
  ASSERT_EQ(pool::stats().mapped, start.mapped + 1) << "the request did not map a new segment";
  std::vector<unsigned char> resident(6 * kMiB / 4096);
  ASSERT_EQ(mincore(block, 6 * kMiB, resident.data()), 0) << std::strerror(errno);
  size_t pages = 0;
  for (unsigned char page : resident) pages += page & 1;
  pool::release(block);
  EXPECT_EQ(pages, resident.size()) << "of the segment's pages, only these were resident";
}

TEST(MemoryPool, ARequestTakesTheSmallestFreeBlockThatHoldsItAndSplitsOffTheRest) {
  ASSERT_TRUE(pool_is_empty());
  const pool::Stats start = pool::stats();  // mapped and reused count since the process began
  char* big = allocate(8 * kMiB);
  char* small = allocate(2 * kMiB);
  pool::release(big);
  pool::release(small);
  // 1 MiB fits both free blocks (8 and 2 MiB): the 2 MiB one is the best fit.
  char* a = allocate(1 * kMiB);
  EXPECT_EQ(a, small);
  // 5 MiB fits only the 8 MiB block: it is split, and its 3 MiB rest serves the next request.
  char* b = allocate(5 * kMiB);
  EXPECT_EQ(b, big);
  char* c = allocate(3 * kMiB);
  EXPECT_EQ(c, big + 5 * kMiB);
  EXPECT_EQ(pool::stats().mapped - start.mapped, 2u);
  for (char* block : {a, b, c}) pool::release(block);
}

struct ThreeBlocks {
  char* first;
  char* middle;
  char* last;
};

// A 6 MiB segment mapped, released, then cut into three consecutive 2 MiB blocks in use.
ThreeBlocks three_blocks_of_one_segment() {
  char* segment = allocate(6 * kMiB);
  pool::release(segment);
  const ThreeBlocks blocks{allocate(2 * kMiB), allocate(2 * kMiB), allocate(2 * kMiB)};
  EXPECT_EQ(blocks.first, segment);
  EXPECT_EQ(blocks.middle, segment + 2 * kMiB);
  EXPECT_EQ(blocks.last, segment + 4 * kMiB);
  return blocks;
}

TEST(MemoryPool, ReleasedNeighboursMergeIntoOneBlock) {
  ASSERT_TRUE(pool_is_empty());
  const pool::Stats start = pool::stats();  // mapped and reused count since the process began
  const auto [first, middle, last] = three_blocks_of_one_segment();
  char* const segment = first;
  pool::release(middle);
  pool::release(first);  // merges with the free middle: 4 MiB from the segment's start
  char* merged = allocate(4 * kMiB);
  EXPECT_EQ(merged, segment);
  EXPECT_EQ(pool::stats().mapped - start.mapped, 1u);
  pool::release(last);
  pool::release(merged);  // merges with the free block on its right: the whole segment is free
  char* whole = allocate(6 * kMiB);
  EXPECT_EQ(whole, segment);
  EXPECT_EQ(pool::stats().mapped - start.mapped, 1u);
  pool::release(whole);
}

TEST(MemoryPool, AReleasedBlockBetweenTwoFreeOnesMergesWithBoth) {
  ASSERT_TRUE(pool_is_empty());
  const pool::Stats start = pool::stats();  // mapped and reused count since the process began
  const auto [first, middle, last] = three_blocks_of_one_segment();
  char* const segment = first;
  pool::release(first);
  pool::release(last);
  EXPECT_EQ(pool::stats().free_bytes, 4 * kMiB);
  pool::release(middle);  // joins the free block on its left and the one on its right
  EXPECT_EQ(pool::stats().free_bytes, 6 * kMiB);
  char* whole = allocate(6 * kMiB);
  EXPECT_EQ(whole, segment);
  EXPECT_EQ(pool::stats().mapped - start.mapped, 1u);
  pool::release(whole);
}

TEST(MemoryPool, AnImpossibleRequestIsAnErrorAndChangesNothing) {
  ASSERT_TRUE(pool_is_empty());
  char* kept = allocate(2 * kMiB);
  const pool::Stats before = pool::stats();
  EXPECT_THROW(pool::allocate(size_t{1} << 60), Error);
  EXPECT_THROW(pool::allocate(~size_t{0}), Error);  // would wrap around when rounded to pages
  EXPECT_EQ(pool::stats().held_bytes, before.held_bytes);
  EXPECT_EQ(pool::stats().free_bytes, before.free_bytes);
  EXPECT_EQ(pool::stats().mapped, before.mapped);
  pool::release(kept);
}

TEST(MemoryPool, ReturningFreeBlocksUnmapsWhollyFreeSegmentsOnly) {
  ASSERT_TRUE(pool_is_empty());
  char* kept = allocate(2 * kMiB);
  char* dropped = allocate(4 * kMiB);
  pool::release(dropped);
  EXPECT_EQ(pool::stats().held_bytes, 6 * kMiB);
  pool::return_free_blocks();
  EXPECT_EQ(pool::stats().held_bytes, 2 * kMiB);
  EXPECT_EQ(pool::stats().free_bytes, 0u);
  pool::release(kept);
  pool::return_free_blocks();
  EXPECT_EQ(pool::stats().held_bytes, 0u);
}

TEST(MemoryPool, ItHoldsAtMostItsSlackAboveThePeakInUse) {
  ASSERT_TRUE(pool_is_empty());
  // Free the 8 MiB block, then ask for 9 MiB: in use at most 2 + 9 = 11 MiB, so the pool may hold
  // 1.25 x 11 = 13.75 MiB. No free block holds 9 MiB, and a new 10 MiB segment beside the 10 MiB
  // held would make 20: the wholly free 8 MiB segment is returned first.
  char* a = allocate(8 * kMiB);
  char* b = allocate(2 * kMiB);
  pool::release(a);
  char* c = allocate(9 * kMiB);
  const pool::Stats s = pool::stats();
  EXPECT_EQ(s.held_bytes, 2 * kMiB + 10 * kMiB) << "the free 8 MiB segment should have been unmapped";
  EXPECT_EQ(s.free_bytes, 1 * kMiB);  // the 9 MiB request's segment rest
  pool::release(b);
  pool::release(c);
}

TEST(MemoryPool, ReleasingAnAddressItDidNotHandOutIsAnError) {
  ASSERT_TRUE(pool_is_empty());
  char* block = allocate(2 * kMiB);
  EXPECT_THROW(pool::release(block + 4096), Error);  // inside a block, not its start
  int on_the_stack = 0;
  EXPECT_THROW(pool::release(&on_the_stack), Error);
  pool::release(block);
  EXPECT_THROW(pool::release(block), Error);  // twice
}

TEST(TensorMemory, CountsLiveAndPeakBytesOfEveryTensor) {
  const TensorMemory start = tensor_memory();
  {
    const Tensor big = Tensor::zeros({256, 1024});  // 1 MiB: from the pool
    const Tensor small = Tensor::zeros({3, 5});     // 60 bytes, rounded to 64: from the heap
    EXPECT_EQ(tensor_memory().live_bytes, start.live_bytes + kMiB + 64);
    EXPECT_EQ(big.data<float>()[256 * 1024 - 1], 0.0f);  // zero-filled, though the pool's blocks are reused
  }
  EXPECT_EQ(tensor_memory().live_bytes, start.live_bytes);
  EXPECT_GE(tensor_memory().peak_bytes, start.live_bytes + kMiB + 64);
  reset_tensor_memory_peak();
  EXPECT_EQ(tensor_memory().peak_bytes, start.live_bytes);
}

TEST(TensorMemory, AReusedPoolBlockIsZeroFilledAgain) {
  float* address = nullptr;
  {
    Tensor first = Tensor::zeros({512, 512});
    first.data<float>()[100] = 5.0f;
    address = first.data<float>();
  }
  const Tensor second = Tensor::zeros({512, 512});
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(second.data<float>(), address);  // the same block, reused (not under ASan: no pool there)
#endif
  EXPECT_EQ(second.data<float>()[100], 0.0f);
}

}  // namespace
