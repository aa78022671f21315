#include "sugar/data/file_bytes.hpp"

#include <zlib.h>

#include <algorithm>

#include "sugar/error.hpp"
#include "sugar/io/regular_file.hpp"

namespace sugar::data {

std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path) {
  return io::read_regular_file_bytes(path.string(), io::kMaxDatasetFileBytes, "dataset file");
}

bool names_an_entry(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found;
}

bool is_gzip(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

// A zlib inflate stream over the stored bytes, kept between reads.
struct DatasetBytes::Inflater {
  z_stream stream{};
  bool ended = false;  // the last gzip member is complete

  Inflater(const std::vector<uint8_t>& compressed, const std::filesystem::path& path) {
    // 15 + 16: a gzip wrapper (not zlib or raw deflate) with the largest window.
    SUGAR_CHECK(inflateInit2(&stream, 15 + 16) == Z_OK, path.string(), ": zlib initialisation failed");
    stream.next_in = const_cast<Bytef*>(compressed.data());
    stream.avail_in = static_cast<uInt>(std::min<size_t>(compressed.size(), 1u << 30));
    remaining_ = compressed.size() - stream.avail_in;
  }
  ~Inflater() { inflateEnd(&stream); }

  // Inflates into [out, out + n); returns how many bytes were produced.
  size_t inflate_into(uint8_t* out, size_t n, const std::filesystem::path& path, size_t compressed_size) {
    size_t produced = 0;
    while (produced < n && !ended) {
      refill();
      stream.next_out = out + produced;
      stream.avail_out = static_cast<uInt>(std::min<size_t>(n - produced, 1u << 30));
      const uInt before = stream.avail_out;
      const int status = inflate(&stream, Z_NO_FLUSH);
      produced += before - stream.avail_out;
      if (status == Z_STREAM_END) {
        refill();
        // Concatenated gzip members are legal (gzip -d inflates them all); anything else after the
        // end is trailing garbage, which gzip only warns about, so it is ignored here too.
        if (stream.avail_in >= 2 && stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b) {
          inflateReset(&stream);
        } else {
          ended = true;
        }
        continue;
      }
      if (status == Z_OK) continue;
      if (status == Z_BUF_ERROR && stream.avail_in == 0 && remaining_ == 0)
        throw Error(path.string() + ": truncated gzip stream (" + std::to_string(compressed_size) +
                    " compressed bytes end before the stream does)");
      if (status == Z_BUF_ERROR && stream.avail_in == 0) continue;  // refilled above on the next turn
      throw Error(path.string() + ": corrupt gzip data" + (stream.msg ? std::string(" (") + stream.msg + ")" : ""));
    }
    return produced;
  }

 private:
  // zlib counts input in 32-bit units; files over 1 GiB are handed over in parts.
  void refill() {
    if (stream.avail_in > 0 || remaining_ == 0) return;
    stream.avail_in = static_cast<uInt>(std::min<size_t>(remaining_, 1u << 30));
    remaining_ -= stream.avail_in;
  }
  size_t remaining_ = 0;
};

DatasetBytes::DatasetBytes(const std::filesystem::path& path) : path_(path), file_(read_file_bytes(path)) {
  if (is_gzip(file_)) inflater_ = std::make_unique<Inflater>(file_, path_);
}

DatasetBytes::~DatasetBytes() = default;

size_t DatasetBytes::read(std::vector<uint8_t>& out, uint64_t n) {
  if (!inflater_) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, file_.size() - position_));
    out.insert(out.end(), file_.begin() + static_cast<std::ptrdiff_t>(position_),
               file_.begin() + static_cast<std::ptrdiff_t>(position_ + take));
    position_ += take;
    return take;
  }
  // Inflated in steps that grow with what arrived, so a header that promises gigabytes on a stream
  // that holds kilobytes costs kilobytes.
  const size_t start = out.size();
  uint64_t wanted = n;
  while (wanted > 0 && !inflater_->ended) {
    const size_t step = static_cast<size_t>(std::min<uint64_t>(wanted, std::max<size_t>(out.size() - start, 1 << 16)));
    const size_t before = out.size();
    out.resize(before + step);
    const size_t got = inflater_->inflate_into(out.data() + before, step, path_, file_.size());
    out.resize(before + got);
    wanted -= got;
    if (got < step) break;
  }
  return out.size() - start;
}

void DatasetBytes::throw_if_corrupt() {
  if (!inflater_) return;
  std::vector<uint8_t> scratch(1 << 16);
  for (int i = 0; i < 16 && !inflater_->ended; ++i) inflater_->inflate_into(scratch.data(), scratch.size(), path_, file_.size());
}

std::vector<uint8_t> read_maybe_gzipped(const std::filesystem::path& path) {
  DatasetBytes file(path);
  std::vector<uint8_t> content;
  file.read(content, io::kMaxDatasetFileBytes + 1);
  SUGAR_CHECK(content.size() <= io::kMaxDatasetFileBytes, path.string(), ": inflates to more than a dataset file may hold (",
              io::kMaxDatasetFileBytes >> 20, " MiB)");
  return content;
}

}  // namespace sugar::data
