// safetensors reading and writing, and atomic file writes: a round trip of every supported dtype, a
// file assembled by hand from the format's definition, and one test per malformed-file error.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/io/safetensors.hpp"

namespace {

namespace fs = std::filesystem;
using sugar::io::SafetensorsFile;
using sugar::io::StDtype;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sugar-safetensors-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A safetensors file from its parts: the 8-byte length, the header text, the data bytes.
std::string assemble(const std::string& header, const std::string& data, int64_t claimed_length = -1) {
  const uint64_t length = claimed_length >= 0 ? static_cast<uint64_t>(claimed_length) : header.size();
  std::string out(reinterpret_cast<const char*>(&length), 8);
  return out + header + data;
}

std::string float_bytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// Parsing must fail with a message that names the source and contains `what`.
void expect_invalid(const std::string& bytes, const std::string& what) {
  try {
    SafetensorsFile::parse(bytes, "bad.safetensors");
    FAIL() << "expected an error containing '" << what << "'";
  } catch (const sugar::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("bad.safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  }
}

TEST(Safetensors, RoundTripKeepsEveryDtypeShapeValueAndMetadata) {
  TempDir dir;
  const std::vector<float> weights{1.5f, -2.25f, 3.0f, 0.0f, -0.0f, 1e-30f};
  const std::vector<uint16_t> halves{0x3F80, 0xC000, 0x0000};  // bf16 1.0, -2.0, 0.0
  const int64_t counter = 1234567890123;
  const std::vector<int64_t> longs{-1, 7};
  const std::vector<sugar::io::TensorToWrite> tensors{
      {"z.weight", StDtype::f32, {2, 3}, weights.data(), weights.size() * 4},
      {"a.half", StDtype::bf16, {3}, halves.data(), halves.size() * 2},
      {"bn.num_batches_tracked", StDtype::i64, {}, &counter, 8},
      {"m.longs", StDtype::i64, {2, 1}, longs.data(), 16},
      {"empty", StDtype::f32, {0, 4}, nullptr, 0},
  };
  const std::string path = dir.file("model.safetensors");
  sugar::io::write_safetensors(path, tensors, {{"epoch", "3"}, {"note", "text with \"quotes\""}});

  const SafetensorsFile file = SafetensorsFile::read(path);
  EXPECT_EQ(file.names(), (std::vector<std::string>{"a.half", "bn.num_batches_tracked", "empty", "m.longs", "z.weight"}));
  EXPECT_EQ(file.metadata().at("epoch"), "3");
  EXPECT_EQ(file.metadata().at("note"), "text with \"quotes\"");
  EXPECT_EQ(file.info("z.weight").dtype, StDtype::f32);
  EXPECT_EQ(file.info("z.weight").shape, (std::vector<int64_t>{2, 3}));
  const std::vector<float> read_weights = file.to_f32("z.weight");
  ASSERT_EQ(read_weights.size(), weights.size());
  EXPECT_EQ(std::memcmp(read_weights.data(), weights.data(), weights.size() * 4), 0);  // bit-exact, -0 included
  EXPECT_EQ(file.to_f32("a.half"), (std::vector<float>{1.0f, -2.0f, 0.0f}));
  EXPECT_EQ(file.info("bn.num_batches_tracked").shape, std::vector<int64_t>{});
  EXPECT_EQ(file.to_i64("bn.num_batches_tracked"), std::vector<int64_t>{counter});
  EXPECT_EQ(file.to_i64("m.longs"), longs);
  EXPECT_EQ(file.info("empty").numel(), 0);
  EXPECT_THROW(file.to_i64("z.weight"), sugar::Error);
  EXPECT_THROW(file.to_f32("m.longs"), sugar::Error);
  EXPECT_THROW(file.info("absent"), sugar::Error);

  // The header is padded to a multiple of 8, so tensor data starts 8-byte aligned.
  std::ifstream in(path, std::ios::binary);
  uint64_t header_length = 0;
  in.read(reinterpret_cast<char*>(&header_length), 8);
  EXPECT_EQ(header_length % 8, 0u);
  EXPECT_EQ(fs::file_size(path), 8 + header_length + 24 + 6 + 8 + 16);
}

TEST(Safetensors, ReadsAFileAssembledByHandFromTheFormatDefinition) {
  // Offsets count from the end of the header; tensors listed out of order; no metadata.
  const std::string header =
      R"({"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const int64_t seven = 7;
  const std::string data = float_bytes({0.5f, -4.0f}) + std::string(reinterpret_cast<const char*>(&seven), 8);
  const SafetensorsFile file = SafetensorsFile::parse(assemble(header, data), "hand.safetensors");
  EXPECT_EQ(file.to_f32("a"), (std::vector<float>{0.5f, -4.0f}));
  EXPECT_EQ(file.to_i64("b"), std::vector<int64_t>{7});
  EXPECT_TRUE(file.metadata().empty());
}

TEST(Safetensors, SerializeMatchesTheBytesWritten) {
  TempDir dir;
  const std::vector<float> values{1, 2, 3};
  const std::vector<sugar::io::TensorToWrite> tensors{{"x", StDtype::f32, {3}, values.data(), 12}};
  sugar::io::write_safetensors(dir.file("x.safetensors"), tensors, {{"k", "v"}});
  EXPECT_EQ(sugar::io::read_file(dir.file("x.safetensors")), sugar::io::serialize_safetensors(tensors, {{"k", "v"}}));
}

TEST(Safetensors, WriterRejectsDuplicateNamesAndWrongByteCounts) {
  const std::vector<float> values{1, 2, 3};
  EXPECT_THROW(sugar::io::serialize_safetensors({{"x", StDtype::f32, {3}, values.data(), 12},
                                                 {"x", StDtype::f32, {3}, values.data(), 12}}),
               sugar::Error);
  try {
    sugar::io::serialize_safetensors({{"x", StDtype::f32, {2, 2}, values.data(), 12}});
    FAIL() << "a byte count mismatch was accepted";
  } catch (const sugar::Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs 16 bytes, got 12"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sugar::io::serialize_safetensors({{"__metadata__", StDtype::f32, {3}, values.data(), 12}}), sugar::Error);
}

TEST(Safetensors, TruncatedBeforeTheHeaderLength) { expect_invalid("abc", "truncated: 3 bytes"); }

TEST(Safetensors, HeaderLengthBeyondTheFile) {
  expect_invalid(assemble("{}", "", 1000), "header length 1000 is beyond the file size (10 bytes)");
}

TEST(Safetensors, HeaderIsNotJson) { expect_invalid(assemble("{\"a\": [1, ", ""), "header is not valid JSON"); }

TEST(Safetensors, HeaderNumberOutOfRange) {
  // nlohmann::json throws out_of_range, not parse_error, for this (found by tests/fuzz/fuzz_safetensors).
  expect_invalid(assemble("{\"a\": 1e999}", ""), "header is not valid JSON");
}

TEST(Safetensors, HeaderIsNotAnObject) { expect_invalid(assemble("[1, 2]", ""), "header is not a JSON object"); }

TEST(Safetensors, UnknownDtype) {
  expect_invalid(assemble(R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", "xx"),
                 "tensor 'a' has unsupported dtype 'F16'");
}

TEST(Safetensors, NegativeDimension) {
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", "xxxx"),
                 "tensor 'a' has an invalid shape [-1]");
}

TEST(Safetensors, MissingOffsets) {
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[1]}})", "xxxx"), "tensor 'a' needs data_offsets");
}

TEST(Safetensors, UnknownField) {
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", "xxxx"),
                 "tensor 'a' has an unknown field 'x'");
}

TEST(Safetensors, OffsetsOutOfRange) {
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "xxxx"),
                 "tensor 'a' has data_offsets [0, 8] outside the data section of 4 bytes");
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})", "xxxx"),
                 "data_offsets [4, 0] outside");
}

TEST(Safetensors, OverlappingTensors) {
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                          float_bytes({1, 2})),
                 "tensor 'b' overlaps tensor 'a'");
}

TEST(Safetensors, GapBetweenTensors) {
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                          float_bytes({1, 2, 3})),
                 "gap of 4 bytes before tensor 'b'");
}

TEST(Safetensors, BytesAfterTheLastTensor) {
  expect_invalid(assemble(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", float_bytes({1, 2})),
                 "4 bytes after the last tensor");
}

TEST(Safetensors, DtypeAndShapeDisagreeWithTheByteCount) {
  expect_invalid(assemble(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}})", "xxxx"),
                 "tensor 'a' is I64 [1] (8 bytes) but its data_offsets span 4 bytes");
}

TEST(Safetensors, MetadataValuesMustBeStrings) {
  expect_invalid(assemble(R"({"__metadata__":{"epoch":3}})", ""), "__metadata__ value of 'epoch' is not a string");
}

TEST(Safetensors, ReadNamesTheFileOfATruncatedCheckpoint) {
  TempDir dir;
  const std::vector<float> values(100, 1.0f);
  const std::string path = dir.file("cut.safetensors");
  sugar::io::write_safetensors(path, {{"w", StDtype::f32, {100}, values.data(), 400}});
  fs::resize_file(path, fs::file_size(path) - 10);
  try {
    SafetensorsFile::read(path);
    FAIL() << "a truncated file was accepted";
  } catch (const sugar::Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("outside the data section"), std::string::npos) << message;
  }
  EXPECT_THROW(SafetensorsFile::read(dir.file("absent.safetensors")), sugar::Error);
}

// Hostile files (issue 16). nlohmann-json parses without recursion, but dumping or copying a value
// recurses per level, so the header's depth is limited where it is parsed.
TEST(Safetensors, DeeplyNestedHeaderIsRefused) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_invalid(assemble(deep, ""), "header is not valid JSON (JSON nested deeper than 64 levels)");
  // 64 levels are fine as JSON (and then not a header object).
  expect_invalid(assemble(std::string(64, '[') + std::string(64, ']'), ""), "header is not a JSON object");
}

TEST(Safetensors, HugeDeclaredSizesAreRefusedWithoutAllocating) {
  expect_invalid(assemble("{}", "", int64_t{1} << 62), "header length 4611686018427387904 is beyond the file size (10 bytes)");
  expect_invalid(assemble(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,1152921504606846976]}})", float_bytes({1, 2, 3, 4})),
                 "data_offsets [0, 1152921504606846976] outside the data section of 16 bytes");
  // 2^40 x 2^40 elements overflow 64 bits: no byte count, so no allocation.
  expect_invalid(assemble(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}})",
                          float_bytes({1, 2, 3, 4})),
                 "but its data_offsets span 16 bytes");
}

// A checkpoint reached through a symlink must still be a regular file: /dev/zero would be read forever.
TEST(Safetensors, ReadRefusesWhatIsNotARegularFile) {
  TempDir dir;
  const auto message_of = [](const std::string& path) -> std::string {
    try {
      SafetensorsFile::read(path);
    } catch (const sugar::Error& e) {
      return e.what();
    }
    return "<no error>";
  };
  fs::create_symlink("/dev/zero", dir.file("zero.safetensors"));
  EXPECT_EQ(message_of(dir.file("zero.safetensors")),
            dir.file("zero.safetensors") + " is a character device, expected a regular file (safetensors checkpoint)");
  fs::create_directory(dir.file("dir.safetensors"));
  EXPECT_EQ(message_of(dir.file("dir.safetensors")),
            dir.file("dir.safetensors") + " is a directory, expected a regular file (safetensors checkpoint)");
  ASSERT_EQ(::mkfifo(dir.file("fifo.safetensors").c_str(), 0600), 0);  // nobody writes: opening must not wait
  EXPECT_EQ(message_of(dir.file("fifo.safetensors")),
            dir.file("fifo.safetensors") + " is a FIFO, expected a regular file (safetensors checkpoint)");
  // A symlink to a regular file is followed: users link their data.
  const std::vector<float> values{1, 2};
  sugar::io::write_safetensors(dir.file("real.safetensors"), {{"w", StDtype::f32, {2}, values.data(), 8}});
  fs::create_symlink(dir.file("real.safetensors"), dir.file("link.safetensors"));
  EXPECT_EQ(SafetensorsFile::read(dir.file("link.safetensors")).to_f32("w"), values);
}

TEST(AtomicFile, ReplacesTheWholeFileAndLeavesNoTemporaryFiles) {
  TempDir dir;
  const std::string path = dir.file("status.json");
  sugar::io::write_file_atomic(path, std::string("first version, longer"));
  sugar::io::write_file_atomic(path, std::string("second"));
  EXPECT_EQ(sugar::io::read_file(path), "second");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::owner_read, fs::perms::owner_read);
}

TEST(AtomicFile, AFailingWriterLeavesTheOldContent) {
  TempDir dir;
  const std::string path = dir.file("last.safetensors");
  sugar::io::write_file_atomic(path, std::string("old"));
  EXPECT_THROW(sugar::io::write_file_atomic(path,
                                            [](std::FILE* file) {
                                              std::fputs("half of the new content", file);
                                              throw sugar::Error("disk on fire");
                                            }),
               sugar::Error);
  EXPECT_EQ(sugar::io::read_file(path), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicFile, StaleTemporariesOfKilledWritesAreRemovedAndNothingElse) {
  TempDir dir;
  for (const char* name : {"last.safetensors", ".last.safetensors.tmp.a1B2c3", ".status.json.tmp.XyZ123", ".hidden",
                           "notes.tmp.abcdef", ".short.tmp.abc"}) {
    sugar::io::write_file_atomic(dir.file(name), std::string("x"));
  }
  std::vector<std::string> removed = sugar::io::remove_stale_temporaries(dir.path());
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{".last.safetensors.tmp.a1B2c3", ".status.json.tmp.XyZ123"}));
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path())) left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{".hidden", ".short.tmp.abc", "last.safetensors", "notes.tmp.abcdef"}));
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  try {
    sugar::io::write_file_atomic("/nonexistent-dir-sugar/x.json", std::string("x"));
    FAIL() << "writing into a missing directory succeeded";
  } catch (const sugar::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir-sugar/x.json"), std::string::npos) << e.what();
  }
}

}  // namespace
