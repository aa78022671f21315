#include "sugar/data/file_bytes.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "sugar/error.hpp"

namespace sugar::data {

std::vector<uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  SUGAR_CHECK(std::filesystem::is_regular_file(path, ec), path.string(), ": file not found");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  SUGAR_CHECK(in.good(), path.string(), ": cannot open (", std::strerror(errno), ")");
  const std::streamoff size = in.tellg();
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), size);
  SUGAR_CHECK(in.good() || (size == 0), path.string(), ": read failed after ", in.gcount(), " of ", size, " bytes");
  return bytes;
}

bool is_gzip(const std::vector<uint8_t>& bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& compressed, const std::filesystem::path& path) {
  std::vector<uint8_t> out;
  out.resize(std::max<size_t>(compressed.size() * 4, 1 << 16));
  z_stream stream{};
  // 15 + 16: a gzip wrapper (not zlib or raw deflate) with the largest window.
  SUGAR_CHECK(inflateInit2(&stream, 15 + 16) == Z_OK, path.string(), ": zlib initialisation failed");
  stream.next_in = const_cast<Bytef*>(compressed.data());
  stream.avail_in = static_cast<uInt>(compressed.size());
  size_t produced = 0;
  int status = Z_OK;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - produced, 1u << 30));
    const uInt before = stream.avail_out;
    status = inflate(&stream, Z_NO_FLUSH);
    produced += before - stream.avail_out;
    if (status == Z_STREAM_END) {
      // Concatenated gzip members are legal (gzip -d inflates them all); anything else after the
      // end is trailing garbage, which gzip only warns about, so it is ignored here too.
      if (stream.avail_in >= 2 && stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b) {
        inflateReset(&stream);
        continue;
      }
      break;
    }
    if (status == Z_OK) continue;
    if (status == Z_BUF_ERROR && stream.avail_in == 0) break;  // input ended before the stream did
    if (status == Z_BUF_ERROR && stream.avail_out == 0) continue;
    break;
  }
  const std::string reason = stream.msg ? stream.msg : "";
  inflateEnd(&stream);
  SUGAR_CHECK(status != Z_BUF_ERROR, path.string(), ": truncated gzip stream (", compressed.size(),
              " compressed bytes end before the stream does)");
  SUGAR_CHECK(status == Z_STREAM_END, path.string(), ": corrupt gzip data",
              reason.empty() ? std::string() : " (" + reason + ")");
  out.resize(produced);
  return out;
}

std::vector<uint8_t> read_maybe_gzipped(const std::filesystem::path& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  return is_gzip(bytes) ? gunzip(bytes, path) : bytes;
}

}  // namespace sugar::data
