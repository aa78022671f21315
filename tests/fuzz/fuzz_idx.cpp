// The IDX reader (MNIST's format), plain or gzipped, read as images (3 dimensions) and as labels (1).
// An accepted file's data is exactly the product of its dimensions.
#include <cstdint>

#include "fuzz_support.hpp"
#include "sugar/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sugar;
  const auto path = fuzz::scratch_dir() / "input-idx-ubyte";
  fuzz::write_bytes(path, data, size);
  for (int ndims : {3, 1}) {
    fuzz::accept_or_reject([&] {
      const data::IdxArray array = data::read_idx_file(path, ndims);
      if (static_cast<int>(array.dims.size()) != ndims) fuzz::broken("idx: wrong number of dimensions accepted");
      uint64_t total = 1;
      for (int64_t d : array.dims) {
        if (d <= 0) fuzz::broken("idx: a dimension <= 0 accepted");
        total *= static_cast<uint64_t>(d);
      }
      if (total != array.data.size()) fuzz::broken("idx: data size differs from the product of the dimensions");
    });
  }
  return 0;
}
