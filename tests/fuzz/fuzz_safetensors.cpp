// The safetensors reader (checkpoints). An accepted file's tensors must all be readable as values, and
// writing them back out (serialize_safetensors) must give a file that reads to the same tensors.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "sugar/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sugar;
  fuzz::accept_or_reject([&] {
    const io::SafetensorsFile file = io::SafetensorsFile::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    std::vector<io::TensorToWrite> tensors;
    for (const std::string& name : file.names()) {
      const io::TensorInfo& info = file.info(name);
      const size_t count = info.dtype == io::StDtype::i64 ? file.to_i64(name).size() : file.to_f32(name).size();
      if (static_cast<int64_t>(count) != info.numel()) fuzz::broken("safetensors: " + name + " reads the wrong count");
      tensors.push_back({name, info.dtype, info.shape, file.bytes(name), info.end - info.begin});
    }
    std::string bytes;
    try {
      bytes = io::serialize_safetensors(tensors, file.metadata());
    } catch (const Error& e) {
      fuzz::broken(std::string("safetensors: the writer refuses what the reader accepted: ") + e.what());
    }
    const io::SafetensorsFile again = io::SafetensorsFile::parse(bytes, "again");
    if (again.names() != file.names() || again.metadata() != file.metadata()) fuzz::broken("safetensors: round trip");
    for (const std::string& name : file.names()) {
      const io::TensorInfo& a = file.info(name);
      const io::TensorInfo& b = again.info(name);
      if (a.dtype != b.dtype || a.shape != b.shape || a.end - a.begin != b.end - b.begin ||
          std::string(reinterpret_cast<const char*>(file.bytes(name)), a.end - a.begin) !=
              std::string(reinterpret_cast<const char*>(again.bytes(name)), b.end - b.begin)) {
        fuzz::broken("safetensors: " + name + " differs after the round trip");
      }
    }
  });
  return 0;
}
