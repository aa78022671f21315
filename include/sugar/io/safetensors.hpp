#pragma once
// The safetensors format (huggingface/safetensors), read and written directly:
//
//   8 bytes    N, the header length, unsigned little-endian
//   N bytes    a JSON object: for each tensor  "name": {"dtype": "F32", "shape": [64, 3, 3, 3],
//              "data_offsets": [begin, end]}, plus an optional "__metadata__": {"key": "text", ...}
//   the rest   the tensors' bytes, little-endian, row-major; offsets count from the end of the header
//
// Sugar writes tensors sorted by name, packed without gaps, and pads the header with spaces to a
// multiple of 8 bytes (as the reference implementation does) so tensor data stays 8-byte aligned.
//
// The reader trusts nothing: a truncated file, a header length beyond the file, malformed JSON, an
// unknown dtype, a negative dimension, offsets out of range, overlapping or leaving gaps, or a byte
// count that disagrees with dtype x shape are each a sugar::Error naming the file and the problem.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sugar::io {

// The element types Sugar reads and writes: "F32", "BF16", "I64".
enum class StDtype { f32, bf16, i64 };
const char* dtype_text(StDtype dtype);
size_t element_size(StDtype dtype);

using Metadata = std::map<std::string, std::string>;

// A tensor to write; the bytes are borrowed and must stay valid during the write.
struct TensorToWrite {
  std::string name;
  StDtype dtype = StDtype::f32;
  std::vector<int64_t> shape;  // [] for a scalar (one element)
  const void* data = nullptr;
  size_t bytes = 0;  // must equal numel(shape) * element_size(dtype)
};

// Writes the file atomically (io::write_file_atomic). Names must be unique, non-empty and not
// "__metadata__"; byte counts must match dtype and shape; otherwise sugar::Error naming the tensor.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const Metadata& metadata = {});

// The same file as bytes in memory (what write_safetensors writes).
std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors, const Metadata& metadata = {});

struct TensorInfo {
  StDtype dtype = StDtype::f32;
  std::vector<int64_t> shape;
  size_t begin = 0;  // byte range in the data section
  size_t end = 0;
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Reads and validates a whole file.
  static SafetensorsFile read(const std::string& path);
  // Validates `bytes` as a safetensors file; `source` names it in messages.
  static SafetensorsFile parse(std::string bytes, const std::string& source);

  const std::string& source() const { return source_; }
  const Metadata& metadata() const { return metadata_; }
  // Tensor names in sorted order.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  size_t size() const { return index_.size(); }
  // sugar::Error naming the file when the tensor is absent.
  const TensorInfo& info(const std::string& name) const;
  // The tensor's raw little-endian bytes (not necessarily aligned for its type).
  const uint8_t* bytes(const std::string& name) const;

  // Values as float (F32, or BF16 widened); sugar::Error for I64.
  std::vector<float> to_f32(const std::string& name) const;
  // Values of an I64 tensor; sugar::Error for other types.
  std::vector<int64_t> to_i64(const std::string& name) const;

 private:
  std::string source_;
  std::string bytes_;
  size_t data_start_ = 0;
  std::map<std::string, TensorInfo> index_;
  Metadata metadata_;
};

}  // namespace sugar::io
