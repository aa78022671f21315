#include "sugar/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/json_parse.hpp"
#include "sugar/io/regular_file.hpp"

namespace sugar::io {

static_assert(std::endian::native == std::endian::little, "safetensors stores little-endian data; Sugar targets x86-64");

namespace {

using nlohmann::json;

constexpr const char* kMetadataKey = "__metadata__";
// Larger headers are not plausible (the reference implementation refuses above 100 MB too).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

Error format_error(const std::string& source, const std::string& what) {
  return Error(source + ": not a valid safetensors file: " + what);
}

bool parse_dtype(const std::string& text, StDtype* dtype) {
  if (text == "F32") *dtype = StDtype::f32;
  else if (text == "BF16") *dtype = StDtype::bf16;
  else if (text == "I64") *dtype = StDtype::i64;
  else return false;
  return true;
}

// numel(shape) * element size, or false on overflow.
bool byte_count(const std::vector<int64_t>& shape, StDtype dtype, size_t* bytes) {
  uint64_t count = element_size(dtype);
  for (int64_t dim : shape) {
    if (dim < 0) return false;
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count)) return false;
  }
  *bytes = count;
  return true;
}

std::string shape_text(const std::vector<int64_t>& shape) { return shape_string(shape); }

}  // namespace

const char* dtype_text(StDtype dtype) {
  switch (dtype) {
    case StDtype::f32: return "F32";
    case StDtype::bf16: return "BF16";
    case StDtype::i64: return "I64";
  }
  return "?";
}

size_t element_size(StDtype dtype) {
  switch (dtype) {
    case StDtype::f32: return 4;
    case StDtype::bf16: return 2;
    case StDtype::i64: return 8;
  }
  return 0;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

// ---- writing ----------------------------------------------------------------------------------

std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors, const Metadata& metadata) {
  std::vector<const TensorToWrite*> sorted;
  for (const TensorToWrite& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->name < b->name; });

  json header = json::object();
  if (!metadata.empty()) {
    json meta = json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = meta;
  }
  size_t offset = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const TensorToWrite& t = *sorted[i];
    SUGAR_CHECK(!t.name.empty() && t.name != kMetadataKey, "safetensors: invalid tensor name '", t.name, "'");
    SUGAR_CHECK(i == 0 || sorted[i - 1]->name != t.name, "safetensors: tensor '", t.name, "' given twice");
    size_t expected = 0;
    SUGAR_CHECK(byte_count(t.shape, t.dtype, &expected), "safetensors: tensor '", t.name, "' has an invalid shape ",
                shape_text(t.shape));
    SUGAR_CHECK(expected == t.bytes, "safetensors: tensor '", t.name, "' of ", dtype_text(t.dtype), " ",
                shape_text(t.shape), " needs ", expected, " bytes, got ", t.bytes);
    SUGAR_CHECK(t.bytes == 0 || t.data != nullptr, "safetensors: tensor '", t.name, "' has no data");
    header[t.name] = {{"dtype", dtype_text(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes}}};
    offset += t.bytes;
  }
  std::string header_text = header.dump();
  // Pad with spaces (valid JSON whitespace) so the data section starts 8-byte aligned.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + header_text.size() + offset);
  const uint64_t length = header_text.size();
  out.append(reinterpret_cast<const char*>(&length), 8);
  out += header_text;
  for (const TensorToWrite* t : sorted) {
    if (t->bytes > 0) out.append(static_cast<const char*>(t->data), t->bytes);
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors, const Metadata& metadata) {
  // Serialising first validates everything before the target is touched; a checkpoint is at most a
  // few hundred MB, so holding it in memory once is acceptable.
  const std::string bytes = serialize_safetensors(tensors, metadata);
  write_file_atomic(path, bytes);
}

// ---- reading ----------------------------------------------------------------------------------

SafetensorsFile SafetensorsFile::read(const std::string& path) {
  return parse(read_regular_file(path, kMaxCheckpointFileBytes, "safetensors checkpoint"), path);
}

SafetensorsFile SafetensorsFile::parse(std::string bytes, const std::string& source) {
  SafetensorsFile file;
  file.source_ = source;
  if (bytes.size() < 8) {
    throw format_error(source, "truncated: " + std::to_string(bytes.size()) +
                                   " bytes, fewer than the 8-byte header length");
  }
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  if (header_length > bytes.size() - 8) {
    throw format_error(source, "header length " + std::to_string(header_length) + " is beyond the file size (" +
                                   std::to_string(bytes.size()) + " bytes)");
  }
  if (header_length > kMaxHeaderBytes) {
    throw format_error(source, "header length " + std::to_string(header_length) + " exceeds 100 MB");
  }
  json header;
  try {
    header = parse_json(std::string_view(bytes).substr(8, static_cast<size_t>(header_length)));
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
    throw format_error(source, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) throw format_error(source, "header is not a JSON object");

  const size_t data_size = bytes.size() - 8 - header_length;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == kMetadataKey) {
      if (!entry.is_object()) throw format_error(source, "__metadata__ is not a JSON object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) throw format_error(source, "__metadata__ value of '" + m.key() + "' is not a string");
        file.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "'";
    if (!entry.is_object()) throw format_error(source, where + " is not a JSON object");
    for (auto field = entry.begin(); field != entry.end(); ++field) {
      if (field.key() != "dtype" && field.key() != "shape" && field.key() != "data_offsets") {
        throw format_error(source, where + " has an unknown field '" + field.key() + "'");
      }
    }
    TensorInfo info;
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) throw format_error(source, where + " has no dtype string");
    const std::string dtype = entry["dtype"].get<std::string>();
    if (!parse_dtype(dtype, &info.dtype)) {
      throw format_error(source, where + " has unsupported dtype '" + dtype + "' (Sugar reads F32, BF16, I64)");
    }
    if (!entry.contains("shape") || !entry["shape"].is_array()) throw format_error(source, where + " has no shape array");
    for (const json& dim : entry["shape"]) {
      if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
        throw format_error(source, where + " has an invalid shape " + entry["shape"].dump());
      }
      info.shape.push_back(dim.get<int64_t>());
    }
    const json* offsets = entry.contains("data_offsets") ? &entry["data_offsets"] : nullptr;
    if (offsets == nullptr || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned()) {
      throw format_error(source, where + " needs data_offsets [begin, end] of two non-negative integers");
    }
    const uint64_t begin = (*offsets)[0].get<uint64_t>();
    const uint64_t end = (*offsets)[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      throw format_error(source, where + " has data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                                     "] outside the data section of " + std::to_string(data_size) + " bytes");
    }
    size_t expected = 0;
    if (!byte_count(info.shape, info.dtype, &expected) || expected != end - begin) {
      throw format_error(source, where + " is " + dtype + " " + shape_text(info.shape) + " (" +
                                     std::to_string(expected) + " bytes) but its data_offsets span " +
                                     std::to_string(end - begin) + " bytes");
    }
    info.begin = begin;
    info.end = end;
    file.index_[name] = info;
  }

  // Tensors must tile the data section exactly: no overlap, no gap, nothing after the last one.
  std::vector<std::pair<const std::string*, const TensorInfo*>> by_offset;
  for (const auto& [name, info] : file.index_) by_offset.emplace_back(&name, &info);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) {
    return a.second->begin != b.second->begin ? a.second->begin < b.second->begin : a.second->end < b.second->end;
  });
  size_t position = 0;
  const std::string* previous = nullptr;
  for (const auto& [name, info] : by_offset) {
    if (info->begin < position) {
      throw format_error(source, "tensor '" + *name + "' overlaps tensor '" + *previous + "' (bytes " +
                                     std::to_string(info->begin) + " < " + std::to_string(position) + ")");
    }
    if (info->begin > position) {
      throw format_error(source, "gap of " + std::to_string(info->begin - position) + " bytes before tensor '" +
                                     *name + "'");
    }
    position = info->end;
    previous = name;
  }
  if (position != data_size) {
    throw format_error(source, std::to_string(data_size - position) + " bytes after the last tensor (file truncated "
                                                                      "or corrupted?)");
  }
  file.data_start_ = 8 + header_length;
  file.bytes_ = std::move(bytes);
  return file;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  for (const auto& entry : index_) names.push_back(entry.first);
  return names;
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  SUGAR_CHECK(it != index_.end(), source_, ": no tensor named '", name, "'");
  return it->second;
}

const uint8_t* SafetensorsFile::bytes(const std::string& name) const {
  return reinterpret_cast<const uint8_t*>(bytes_.data()) + data_start_ + info(name).begin;
}

std::vector<float> SafetensorsFile::to_f32(const std::string& name) const {
  const TensorInfo& t = info(name);
  const uint8_t* src = bytes(name);
  std::vector<float> values(static_cast<size_t>(t.numel()));
  if (t.dtype == StDtype::f32) {
    std::memcpy(values.data(), src, t.end - t.begin);
  } else if (t.dtype == StDtype::bf16) {
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t half = 0;
      std::memcpy(&half, src + 2 * i, 2);
      const uint32_t word = static_cast<uint32_t>(half) << 16;
      std::memcpy(&values[i], &word, 4);
    }
  } else {
    throw Error(source_ + ": tensor '" + name + "' is " + dtype_text(t.dtype) + ", expected F32 or BF16");
  }
  return values;
}

std::vector<int64_t> SafetensorsFile::to_i64(const std::string& name) const {
  const TensorInfo& t = info(name);
  SUGAR_CHECK(t.dtype == StDtype::i64, source_, ": tensor '", name, "' is ", dtype_text(t.dtype), ", expected I64");
  std::vector<int64_t> values(static_cast<size_t>(t.numel()));
  std::memcpy(values.data(), bytes(name), t.end - t.begin);
  return values;
}

}  // namespace sugar::io
