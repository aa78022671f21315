// Dataset readers on small synthetic files written here in each format (CIFAR binary, IDX plain and
// gzipped, image folders), including malformed ones, plus the real Fashion-MNIST when it is installed.
#include <gtest/gtest.h>
#include <zlib.h>

#include <sys/stat.h>
#include <unistd.h>


#include <filesystem>
#include <functional>
#include <fstream>
#include <random>

#include "sugar/data/cifar.hpp"
#include "sugar/data/file_bytes.hpp"
#include "sugar/data/idx.hpp"
#include "sugar/data/image_folder.hpp"
#include "sugar/data/normalization.hpp"
#include "sugar/error.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

using namespace sugar;
using namespace sugar::data;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the system temp dir, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            (std::string("sugar_data_") + info->test_suite_name() + "_" + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void write_gzip(const fs::path& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  gzclose(file);
}

// A pixel value that differs between files, records and positions.
uint8_t cifar_pixel(int file, int record, int k) { return static_cast<uint8_t>(file * 31 + record * 7 + k * 13); }

// One CIFAR record: the label bytes, then 3072 pixels.
void append_record(std::vector<uint8_t>& out, std::vector<uint8_t> label_bytes, int file, int record) {
  out.insert(out.end(), label_bytes.begin(), label_bytes.end());
  for (int k = 0; k < 3072; ++k) out.push_back(cifar_pixel(file, record, k));
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

}  // namespace

// ---- CIFAR ---------------------------------------------------------------------------------------

// CIFAR-10 batch k holds k records with label (k + r) % 10, so the five files hold 15 records in all.
fs::path write_cifar10(const fs::path& dir) {
  for (int k = 1; k <= 5; ++k) {
    std::vector<uint8_t> bytes;
    for (int r = 0; r < k; ++r) append_record(bytes, {static_cast<uint8_t>((k + r) % 10)}, k, r);
    write_bytes(dir / ("data_batch_" + std::to_string(k) + ".bin"), bytes);
  }
  std::vector<uint8_t> test;
  for (int r = 0; r < 4; ++r) append_record(test, {static_cast<uint8_t>(9 - r)}, 0, r);
  write_bytes(dir / "test_batch.bin", test);
  return dir;
}

TEST(DataCifar10, ReadsExactPixelsAndLabelsAcrossBatchFiles) {
  TempDir tmp;
  write_cifar10(tmp.path());
  auto train = read_cifar10(tmp.path(), Split::train);
  ASSERT_EQ(train->size(), 15);
  EXPECT_EQ(train->num_classes(), 10);
  EXPECT_EQ(train->channels(), 3);
  EXPECT_EQ(train->height(), 32);
  EXPECT_EQ(train->width(), 32);
  EXPECT_EQ(train->class_names()[0], "airplane");
  EXPECT_EQ(train->class_names()[9], "truck");
  int64_t i = 0;
  for (int k = 1; k <= 5; ++k) {
    for (int r = 0; r < k; ++r, ++i) {
      EXPECT_EQ(train->label(i), (k + r) % 10);
      const Sample sample = train->get(i);
      ASSERT_EQ(sample.image.size(), 3072u);
      EXPECT_EQ(sample.label, (k + r) % 10);
      // CHW: the file's R plane, then G, then B, is exactly the sample's layout.
      for (int p : {0, 1, 31, 32, 1023, 1024, 2048, 3071}) {
        EXPECT_EQ(train->pixels(i)[p], cifar_pixel(k, r, p));
        EXPECT_FLOAT_EQ(sample.image[static_cast<size_t>(p)], cifar_pixel(k, r, p) / 255.0f);
      }
    }
  }
  auto test = read_cifar10(tmp.path(), Split::test);
  ASSERT_EQ(test->size(), 4);
  EXPECT_EQ(test->label(3), 6);
  EXPECT_EQ(test->pixels(2)[100], cifar_pixel(0, 2, 100));
}

TEST(DataCifar10, AcceptsTheParentOfTheOfficialFolder) {
  TempDir tmp;
  write_cifar10(tmp.path() / "cifar-10-batches-bin");
  EXPECT_EQ(read_cifar10(tmp.path(), Split::train)->size(), 15);
}

TEST(DataCifar10, PartialRecordNamesFileSizeAndRecordSize) {
  TempDir tmp;
  write_cifar10(tmp.path());
  std::vector<uint8_t> bytes;
  append_record(bytes, {1}, 3, 0);
  bytes.resize(bytes.size() + 100, 0);  // 3073 + 100 bytes
  write_bytes(tmp.path() / "data_batch_3.bin", bytes);
  const std::string message = error_of([&] { read_cifar10(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, "data_batch_3.bin");
  EXPECT_CONTAINS(message, "size 3173 bytes");
  EXPECT_CONTAINS(message, "3073-byte records");
}

TEST(DataCifar10, LabelOutOfRangeNamesFileRecordAndValue) {
  TempDir tmp;
  write_cifar10(tmp.path());
  std::vector<uint8_t> bytes;
  for (int r = 0; r < 3; ++r) append_record(bytes, {static_cast<uint8_t>(r == 2 ? 10 : 0)}, 0, r);
  write_bytes(tmp.path() / "test_batch.bin", bytes);
  const std::string message = error_of([&] { read_cifar10(tmp.path(), Split::test); });
  EXPECT_CONTAINS(message, "test_batch.bin");
  EXPECT_CONTAINS(message, "record 2");
  EXPECT_CONTAINS(message, "label 10");
}

TEST(DataCifar10, MissingFilesNameThePathAndTheExpectedFiles) {
  TempDir tmp;
  write_cifar10(tmp.path());
  fs::remove(tmp.path() / "data_batch_4.bin");
  std::string message = error_of([&] { read_cifar10(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, tmp.path().string());
  EXPECT_CONTAINS(message, "missing data_batch_4.bin");
  EXPECT_CONTAINS(message, "data_batch_1.bin, data_batch_2.bin");
  EXPECT_CONTAINS(message, "fetch-cifar.sh cifar10");
  // The test split needs only test_batch.bin, which is there.
  EXPECT_EQ(read_cifar10(tmp.path(), Split::test)->size(), 4);

  message = error_of([&] { read_cifar10(tmp.path() / "nowhere", Split::test); });
  EXPECT_CONTAINS(message, (tmp.path() / "nowhere").string());
  EXPECT_CONTAINS(message, "does not exist");
  EXPECT_CONTAINS(message, "test_batch.bin");
}

// An empty split used to load as zero samples and fail only after a whole epoch, with the run
// directory created (issue 16); a single empty file among others is still fine.
TEST(DataCifar10, EmptySplitIsAnErrorNamingItsFiles) {
  TempDir tmp;
  write_cifar10(tmp.path());
  write_bytes(tmp.path() / "test_batch.bin", {});
  EXPECT_EQ(error_of([&] { read_cifar10(tmp.path(), Split::test); }),
            "cifar10 test: " + (tmp.path() / "test_batch.bin").string() +
                " is empty; expected at least one 3073-byte record");
  write_bytes(tmp.path() / "data_batch_3.bin", {});
  EXPECT_EQ(read_cifar10(tmp.path(), Split::train)->size(), 1 + 2 + 4 + 5);
  for (int k = 1; k <= 5; ++k) write_bytes(tmp.path() / ("data_batch_" + std::to_string(k) + ".bin"), {});
  EXPECT_EQ(error_of([&] { read_cifar10(tmp.path(), Split::train); }),
            "cifar10 train: every file in " + tmp.path().string() +
                " is empty (data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin); "
                "expected at least one 3073-byte record");
}

// Users link their data, so links are followed; what they reach must be a regular file. /dev/zero was
// read forever, a FIFO nobody writes to hung the open, a directory was called missing (issue 16).
TEST(DataCifar10, DataFilesThatAreNotRegularFilesAreNamed) {
  TempDir tmp;
  write_cifar10(tmp.path());
  const fs::path test = tmp.path() / "test_batch.bin";
  fs::remove(test);
  fs::create_symlink("/dev/zero", test);
  EXPECT_EQ(error_of([&] { read_cifar10(tmp.path(), Split::test); }),
            test.string() + " is a character device, expected a regular file (dataset file)");
  fs::remove(test);
  ASSERT_EQ(::mkfifo(test.c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { read_cifar10(tmp.path(), Split::test); }),
            test.string() + " is a FIFO, expected a regular file (dataset file)");
  fs::remove(test);
  fs::create_directory(test);
  EXPECT_EQ(error_of([&] { read_cifar10(tmp.path(), Split::test); }),
            test.string() + " is a directory, expected a regular file (dataset file)");
  fs::remove(test);
  fs::create_symlink(tmp.path() / "gone.bin", test);
  EXPECT_EQ(error_of([&] { read_cifar10(tmp.path(), Split::test); }),
            "cannot open " + test.string() + ": No such file or directory");
  // A link to a real file is read through.
  fs::remove(test);
  fs::create_symlink(tmp.path() / "data_batch_4.bin", test);
  EXPECT_EQ(read_cifar10(tmp.path(), Split::test)->size(), 4);
}

TEST(DataCifar100, FineByDefaultCoarseOnRequest) {
  TempDir tmp;
  std::vector<uint8_t> bytes;
  const std::vector<std::pair<int, int>> labels{{0, 99}, {19, 0}, {7, 42}};  // (coarse, fine)
  for (int r = 0; r < 3; ++r)
    append_record(bytes, {static_cast<uint8_t>(labels[r].first), static_cast<uint8_t>(labels[r].second)}, 5, r);
  write_bytes(tmp.path() / "cifar-100-binary" / "train.bin", bytes);
  auto fine = read_cifar100(tmp.path(), Split::train);
  auto coarse = read_cifar100(tmp.path() / "cifar-100-binary", Split::train, Cifar100Labels::coarse);
  ASSERT_EQ(fine->size(), 3);
  EXPECT_EQ(fine->num_classes(), 100);
  EXPECT_EQ(coarse->num_classes(), 20);
  EXPECT_EQ(fine->class_names()[99], "worm");
  EXPECT_EQ(fine->class_names()[42], "leopard");
  EXPECT_EQ(coarse->class_names()[19], "vehicles_2");
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(fine->label(r), labels[r].second);
    EXPECT_EQ(coarse->label(r), labels[r].first);
    EXPECT_EQ(fine->pixels(r)[0], cifar_pixel(5, r, 0));  // pixels start after both label bytes
    EXPECT_EQ(fine->pixels(r)[3071], cifar_pixel(5, r, 3071));
  }
}

TEST(DataCifar100, ErrorsNameFileRecordAndValue) {
  TempDir tmp;
  std::vector<uint8_t> bytes;
  append_record(bytes, {0, 5}, 0, 0);
  append_record(bytes, {3, 100}, 0, 1);
  write_bytes(tmp.path() / "test.bin", bytes);
  std::string message = error_of([&] { read_cifar100(tmp.path(), Split::test); });
  EXPECT_CONTAINS(message, "test.bin");
  EXPECT_CONTAINS(message, "record 1");
  EXPECT_CONTAINS(message, "fine label 100");

  bytes.resize(3074 + 5);
  write_bytes(tmp.path() / "test.bin", bytes);
  message = error_of([&] { read_cifar100(tmp.path(), Split::test); });
  EXPECT_CONTAINS(message, "size 3079 bytes");
  EXPECT_CONTAINS(message, "3074-byte records");

  message = error_of([&] { read_cifar100(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, "missing train.bin");
}

// ---- IDX (MNIST / Fashion-MNIST) -----------------------------------------------------------------

std::vector<uint8_t> idx_header(uint32_t magic, const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> out;
  auto put = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  return out;
}

uint8_t idx_pixel(int n, int y, int x) { return static_cast<uint8_t>(n * 50 + y * 9 + x * 3 + 1); }

std::vector<uint8_t> idx_images(int count, int rows = 28, int cols = 28) {
  auto out = idx_header(0x803, {static_cast<uint32_t>(count), static_cast<uint32_t>(rows), static_cast<uint32_t>(cols)});
  for (int n = 0; n < count; ++n)
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) out.push_back(idx_pixel(n, y, x));
  return out;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels) {
  auto out = idx_header(0x801, {static_cast<uint32_t>(labels.size())});
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

TEST(DataIdx, GzippedAndPlainFilesGiveTheSamePaddedImages) {
  TempDir tmp;
  write_gzip(tmp.path() / "gz" / "train-images-idx3-ubyte.gz", idx_images(3));
  write_gzip(tmp.path() / "gz" / "train-labels-idx1-ubyte.gz", idx_labels({9, 0, 4}));
  write_bytes(tmp.path() / "plain" / "train-images-idx3-ubyte", idx_images(3));
  write_bytes(tmp.path() / "plain" / "train-labels-idx1-ubyte", idx_labels({9, 0, 4}));
  for (const char* sub : {"gz", "plain"}) {
    auto ds = read_fashion_mnist(tmp.path() / sub, Split::train);
    ASSERT_EQ(ds->size(), 3);
    EXPECT_EQ(ds->channels(), 1);
    EXPECT_EQ(ds->height(), 32);
    EXPECT_EQ(ds->width(), 32);
    EXPECT_EQ(ds->label(0), 9);
    EXPECT_EQ(ds->label(2), 4);
    EXPECT_EQ(ds->class_names()[9], "Ankle boot");
    for (int n = 0; n < 3; ++n) {
      const uint8_t* p = ds->pixels(n);
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
          const bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          ASSERT_EQ(p[y * 32 + x], inside ? idx_pixel(n, y - 2, x - 2) : 0) << sub << " n=" << n << " y=" << y << " x=" << x;
        }
    }
  }
}

TEST(DataIdx, PadToZeroKeepsTheStoredSizeAndDottedNamesAreFound) {
  TempDir tmp;
  write_bytes(tmp.path() / "t10k-images.idx3-ubyte", idx_images(2));
  write_bytes(tmp.path() / "t10k-labels.idx1-ubyte", idx_labels({3, 1}));
  auto ds = read_mnist(tmp.path(), Split::test, {.pad_to = 0});
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->height(), 28);
  EXPECT_EQ(ds->width(), 28);
  EXPECT_EQ(ds->pixels(1)[5 * 28 + 7], idx_pixel(1, 5, 7));
  EXPECT_FLOAT_EQ(ds->get(1).image[5 * 28 + 7], idx_pixel(1, 5, 7) / 255.0f);
  EXPECT_EQ(ds->class_names()[3], "3");
  // pad_to 30 on 28: one zero row/column on each side.
  auto padded = read_mnist(tmp.path(), Split::test, {.pad_to = 30});
  EXPECT_EQ(padded->pixels(0)[1 * 30 + 1], idx_pixel(0, 0, 0));
  EXPECT_EQ(padded->pixels(0)[0], 0);
  const std::string message = error_of([&] { read_mnist(tmp.path(), Split::test, {.pad_to = 20}); });
  EXPECT_CONTAINS(message, "pad_to 20 is smaller than the stored images (28x28");
  // Images of another size (a 1x1 or 28x20 split) are not MNIST's: refused, naming the file.
  write_bytes(tmp.path() / "t10k-images.idx3-ubyte", idx_images(2, 28, 20));
  EXPECT_CONTAINS(error_of([&] { read_mnist(tmp.path(), Split::test, {.pad_to = 32}); }),
                  "t10k-images.idx3-ubyte: holds 28x20 images; mnist images are 28x28");
}

TEST(DataIdx, MalformedFilesGiveOneClearErrorEach) {
  TempDir tmp;
  const fs::path images = tmp.path() / "train-images-idx3-ubyte";
  const fs::path labels = tmp.path() / "train-labels-idx1-ubyte";
  write_bytes(labels, idx_labels({1, 2, 3}));

  // Not unsigned-byte IDX (type 0x0D = float).
  auto bad_type = idx_images(3);
  bad_type[2] = 0x0D;
  write_bytes(images, bad_type);
  std::string message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, images.string());
  EXPECT_CONTAINS(message, "not an unsigned-byte IDX file (magic 0x00000d03, expected 0x00000803)");

  // A label file where images are expected: wrong number of dimensions.
  write_bytes(images, idx_labels({1, 2, 3}));
  message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, "IDX file has 1 dimensions (magic 0x00000801), expected 3");

  // Count mismatch between images and labels.
  write_bytes(images, idx_images(4));
  message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, "holds 4 images but");
  EXPECT_CONTAINS(message, "holds 3 labels");

  // Truncated data.
  auto truncated = idx_images(3);
  truncated.resize(truncated.size() - 10);
  write_bytes(images, truncated);
  message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, images.string());
  EXPECT_CONTAINS(message, "truncated: header says [3, 28, 28] = 2352 bytes of data but only 2342 follow");

  // Dimensions whose product overflows 64 bits (0xffffffff^3; found by tests/fuzz/fuzz_idx).
  std::vector<uint8_t> huge{0, 0, 8, 3};
  for (int d = 0; d < 3; ++d) huge.insert(huge.end(), {0xff, 0xff, 0xff, 0xff});
  huge.insert(huge.end(), 5, 7);
  write_bytes(images, huge);
  message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, "header says [4294967295, 4294967295, 4294967295] = more than 2^63 bytes of data, more than "
                           "a dataset file may hold (2048 MiB)");

  // Label out of range.
  write_bytes(images, idx_images(3));
  write_bytes(labels, idx_labels({1, 12, 3}));
  message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, labels.string());
  EXPECT_CONTAINS(message, "record 1 has label 12");

  // Missing labels file.
  fs::remove(labels);
  message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, "has no train-labels-idx1-ubyte");
  EXPECT_CONTAINS(message, tmp.path().string());
}

TEST(DataIdx, CorruptAndTruncatedGzipAreReported) {
  TempDir tmp;
  const fs::path gz = tmp.path() / "train-images-idx3-ubyte.gz";
  write_gzip(gz, idx_images(3));
  write_bytes(tmp.path() / "train-labels-idx1-ubyte", idx_labels({1, 2, 3}));
  ASSERT_EQ(read_mnist(tmp.path(), Split::train)->size(), 3);
  const std::vector<uint8_t> good = read_file_bytes(gz);
  ASSERT_TRUE(is_gzip(good));

  std::vector<uint8_t> corrupt = good;
  for (size_t i = 12; i < corrupt.size() - 8; i += 3) corrupt[i] ^= 0x5A;
  write_bytes(gz, corrupt);
  std::string message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, gz.string());
  EXPECT_CONTAINS(message, "corrupt gzip data");

  std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
  write_bytes(gz, cut);
  message = error_of([&] { read_mnist(tmp.path(), Split::train); });
  EXPECT_CONTAINS(message, gz.string());
  EXPECT_CONTAINS(message, "truncated gzip stream");
}

// Decompression bombs (issue 16): a 2 MB gzip that inflates to 2 GiB took 25 s and 6 GB. Inflating
// now stops 64 KiB past what the header declares, and a header declaring more than a dataset file may
// hold is refused before any data is inflated.
TEST(DataIdx, GzipBombsStopAtTheDeclaredSize) {
  TempDir tmp;
  write_bytes(tmp.path() / "train-labels-idx1-ubyte", idx_labels({1, 2}));
  const fs::path gz = tmp.path() / "train-images-idx3-ubyte.gz";
  {  // [2, 28, 28] declared, 256 MiB of zeros after it: written as a stream, never held here.
    gzFile file = gzopen(gz.c_str(), "wb9");
    ASSERT_NE(file, nullptr);
    const std::vector<uint8_t> header = idx_images(2);
    ASSERT_EQ(gzwrite(file, header.data(), static_cast<unsigned>(header.size())), static_cast<int>(header.size()));
    const std::vector<uint8_t> zeros(1 << 20, 0);
    for (int i = 0; i < 256; ++i) ASSERT_EQ(gzwrite(file, zeros.data(), 1 << 20), 1 << 20);
    gzclose(file);
  }
  ASSERT_LT(fs::file_size(gz), 1u << 20);
  // "more than 65536": inflating stopped there (reading it all said "268435456 unexpected bytes").
  EXPECT_EQ(error_of([&] { read_mnist(tmp.path(), Split::train); }),
            gz.string() + ": more than 65536 unexpected bytes after the 1568 bytes of data that the header [2, 28, 28] describes");

  // 3,000,000 x 28 x 28 = 2.35 GB declared on 10 bytes: refused at the header.
  std::vector<uint8_t> huge = idx_header(0x803, {3000000, 28, 28});
  huge.resize(huge.size() + 10, 0);
  write_gzip(gz, huge);
  EXPECT_EQ(error_of([&] { read_mnist(tmp.path(), Split::train); }),
            gz.string() + ": header says [3000000, 28, 28] = 2352000000 bytes of data, more than a dataset file may "
                          "hold (2048 MiB)");
  // 1,000,000 x 28 x 28 = 784 MB declared (allowed) on 10 bytes: truncated, found with the 10 bytes read.
  std::vector<uint8_t> liar = idx_header(0x803, {1000000, 28, 28});
  liar.resize(liar.size() + 10, 0);
  write_gzip(gz, liar);
  EXPECT_EQ(error_of([&] { read_mnist(tmp.path(), Split::train); }),
            gz.string() + ": truncated: header says [1000000, 28, 28] = 784000000 bytes of data but only 10 follow");
  // A few stray bytes are still counted exactly, gzipped or not.
  std::vector<uint8_t> extra = idx_images(2);
  extra.resize(extra.size() + 7, 0);
  write_gzip(gz, extra);
  EXPECT_EQ(error_of([&] { read_mnist(tmp.path(), Split::train); }),
            gz.string() + ": 7 unexpected bytes after the 1568 bytes of data that the header [2, 28, 28] describes");
}

TEST(DataIdx, ConcatenatedGzipMembersAreReadWhole) {
  TempDir tmp;
  const std::vector<uint8_t> whole = idx_images(2);
  const std::vector<uint8_t> head(whole.begin(), whole.begin() + 1000), tail(whole.begin() + 1000, whole.end());
  write_gzip(tmp.path() / "a.gz", head);
  write_gzip(tmp.path() / "b.gz", tail);
  std::vector<uint8_t> both = read_file_bytes(tmp.path() / "a.gz");
  const std::vector<uint8_t> second = read_file_bytes(tmp.path() / "b.gz");
  both.insert(both.end(), second.begin(), second.end());  // what `cat a.gz b.gz` makes; gzip -d reads both
  write_bytes(tmp.path() / "t10k-images-idx3-ubyte.gz", both);
  write_bytes(tmp.path() / "t10k-labels-idx1-ubyte", idx_labels({0, 1}));
  auto ds = read_mnist(tmp.path(), Split::test, {.pad_to = 0});
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->pixels(1)[27 * 28 + 27], idx_pixel(1, 27, 27));
  EXPECT_EQ(read_maybe_gzipped(tmp.path() / "t10k-images-idx3-ubyte.gz"), whole);
}

// ---- image folders -------------------------------------------------------------------------------

uint8_t folder_pixel(int image, int y, int x, int c) { return static_cast<uint8_t>(image * 60 + y * 20 + x * 5 + c * 70); }

std::vector<uint8_t> rgb_image(int image, int h, int w) {
  std::vector<uint8_t> hwc;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) hwc.push_back(folder_pixel(image, y, x, c));
  return hwc;
}

TEST(DataImageFolder, ReadsClassesSortedAndExactPixels) {
  TempDir tmp;
  const fs::path root = tmp.path();
  fs::create_directories(root / "dog");
  fs::create_directories(root / "cat");
  const int h = 3, w = 4;
  auto a = rgb_image(0, h, w), b = rgb_image(1, h, w), c = rgb_image(2, h, w);
  ASSERT_TRUE(stbi_write_png((root / "dog" / "c.PNG").c_str(), w, h, 3, c.data(), w * 3));
  ASSERT_TRUE(stbi_write_bmp((root / "dog" / "b.bmp").c_str(), w, h, 3, b.data()));
  ASSERT_TRUE(stbi_write_png((root / "cat" / "a.png").c_str(), w, h, 3, a.data(), w * 3));
  write_bytes(root / "cat" / "notes.txt", {'h', 'i'});  // not an image: ignored
  auto ds = read_image_folder(root, {.height = h, .width = w});
  ASSERT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->num_classes(), 2);
  EXPECT_EQ(ds->class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(ds->label(0), 0);
  EXPECT_EQ(ds->label(1), 1);
  EXPECT_EQ(ds->label(2), 1);
  EXPECT_EQ(ds->channels(), 3);
  const int order[3] = {0, 1, 2};  // a.png, then dog/b.bmp, then dog/c.PNG
  for (int i = 0; i < 3; ++i)
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          ASSERT_EQ(ds->pixels(i)[(ch * h + y) * w + x], folder_pixel(order[i], y, x, ch)) << i << " " << ch << " " << y << " " << x;
}

TEST(DataImageFolder, ResizesGreyAndJpegImages) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "only");
  // 8x6 grey image, brighter to the right: resizing must keep it constant down columns, increasing
  // along rows, and grey in all three channels.
  const int w = 8, h = 6;
  std::vector<uint8_t> grey;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) grey.push_back(static_cast<uint8_t>(20 + 30 * x));
  ASSERT_TRUE(stbi_write_png((tmp.path() / "only" / "g.png").c_str(), w, h, 1, grey.data(), w));
  std::vector<uint8_t> flat(static_cast<size_t>(w * h * 3));
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = i % 3 == 0 ? 200 : (i % 3 == 1 ? 100 : 50);
  ASSERT_TRUE(stbi_write_jpg((tmp.path() / "only" / "j.jpeg").c_str(), w, h, 3, flat.data(), 100));
  auto ds = read_image_folder(tmp.path(), {.height = 4, .width = 5});
  ASSERT_EQ(ds->size(), 2);
  EXPECT_EQ(ds->height(), 4);
  EXPECT_EQ(ds->width(), 5);
  const uint8_t* g = ds->pixels(0);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) {
        EXPECT_EQ(g[(c * 4 + y) * 5 + x], g[x]);
        if (x > 0) EXPECT_GT(g[(c * 4 + y) * 5 + x], g[(c * 4 + y) * 5 + x - 1]);
      }
  EXPECT_GE(g[0], 20);
  EXPECT_LE(g[4], 230);
  const uint8_t* j = ds->pixels(1);
  for (int p = 0; p < 20; ++p) {
    EXPECT_NEAR(j[p], 200, 3);
    EXPECT_NEAR(j[20 + p], 100, 3);
    EXPECT_NEAR(j[40 + p], 50, 3);
  }
}

TEST(DataImageFolder, ErrorsNameTheFolderOrFile) {
  TempDir tmp;
  std::string message = error_of([&] { read_image_folder(tmp.path() / "absent"); });
  EXPECT_CONTAINS(message, (tmp.path() / "absent").string());
  EXPECT_CONTAINS(message, "is not a folder");

  message = error_of([&] { read_image_folder(tmp.path()); });
  EXPECT_CONTAINS(message, "has no class sub-folders");

  fs::create_directories(tmp.path() / "a");
  auto pixels = rgb_image(0, 2, 2);
  ASSERT_TRUE(stbi_write_png((tmp.path() / "a" / "x.png").c_str(), 2, 2, 3, pixels.data(), 6));
  fs::create_directories(tmp.path() / "b");
  write_bytes(tmp.path() / "b" / "readme.md", {'x'});
  message = error_of([&] { read_image_folder(tmp.path()); });
  EXPECT_CONTAINS(message, "class folder " + (tmp.path() / "b").string() + " holds no");

  write_bytes(tmp.path() / "b" / "broken.jpg", {0xFF, 0xD8, 0xFF, 0x00, 0x12, 0x34});
  message = error_of([&] { read_image_folder(tmp.path()); });
  EXPECT_CONTAINS(message, (tmp.path() / "b" / "broken.jpg").string());
  EXPECT_CONTAINS(message, "cannot decode image");
}

// Entries that look like images but are not files were skipped silently (issue 16); other files are
// still ignored.
TEST(DataImageFolder, EntriesNamedAsImagesMustBeImageFiles) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "a");
  auto pixels = rgb_image(0, 2, 2);
  ASSERT_TRUE(stbi_write_png((tmp.path() / "a" / "x.png").c_str(), 2, 2, 3, pixels.data(), 6));
  write_bytes(tmp.path() / "a" / "notes.txt", {'x'});
  fs::create_directories(tmp.path() / "a" / "subfolder");
  EXPECT_EQ(read_image_folder(tmp.path())->size(), 1);

  fs::create_directories(tmp.path() / "a" / "y.png");
  EXPECT_EQ(error_of([&] { read_image_folder(tmp.path()); }),
            "image_folder: " + (tmp.path() / "a" / "y.png").string() +
                " is a directory, expected an image file (.png/.jpg/.jpeg/.bmp)");
  fs::remove(tmp.path() / "a" / "y.png");
  fs::create_symlink(tmp.path() / "gone.txt", tmp.path() / "a" / "z.txt");
  EXPECT_EQ(error_of([&] { read_image_folder(tmp.path()); }),
            "image_folder: " + (tmp.path() / "a" / "z.txt").string() + " is a dangling symlink (to " +
                (tmp.path() / "gone.txt").string() + "), expected an image file (.png/.jpg/.jpeg/.bmp)");
  fs::remove(tmp.path() / "a" / "z.txt");
  ASSERT_EQ(::mkfifo((tmp.path() / "a" / "w.jpg").c_str(), 0600), 0);
  EXPECT_CONTAINS(error_of([&] { list_image_folder(tmp.path()); }), "w.jpg is a FIFO, expected an image file");
}

// ---- the real Fashion-MNIST (Debian's dataset-fashion-mnist) -------------------------------------

TEST(DataFashionMnistReal, CountsHistogramFirstLabelAndNormalisation) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << dir << " is not installed";
  auto train = read_fashion_mnist(dir, Split::train, {.pad_to = 0});
  auto test = read_fashion_mnist(dir, Split::test);
  ASSERT_EQ(train->size(), 60000);
  ASSERT_EQ(test->size(), 10000);
  EXPECT_EQ(test->height(), 32);
  EXPECT_EQ(train->height(), 28);
  EXPECT_EQ(train->label(0), 9);  // ankle boot
  EXPECT_EQ(label_histogram(*train), std::vector<int64_t>(10, 6000));
  EXPECT_EQ(label_histogram(*test), std::vector<int64_t>(10, 1000));
  // The documented constants are the statistics of the 28x28 training images.
  const Normalization measured = compute_normalization(*train);
  const Normalization documented = default_normalization("fashion_mnist");
  EXPECT_NEAR(measured.mean[0], documented.mean[0], 5e-5);
  EXPECT_NEAR(measured.std[0], documented.std[0], 5e-5);
}

// ---- the real CIFAR releases, when data/fetch-cifar.sh has put them in the source tree's data/ ----

TEST(DataCifarReal, DocumentedNormalisationMatchesTheTrainingSets) {
  const fs::path data = fs::path(__FILE__).parent_path().parent_path() / "data";
  bool any = false;
  for (const char* name : {"cifar10", "cifar100"}) {
    const bool ten = std::string(name) == "cifar10";
    const fs::path dir = data / (ten ? "cifar-10-batches-bin" : "cifar-100-binary");
    if (!fs::exists(dir / "test_batch.bin") && !fs::exists(dir / "test.bin")) continue;
    any = true;
    auto train = ten ? read_cifar10(dir, Split::train) : read_cifar100(dir, Split::train);
    auto test = ten ? read_cifar10(dir, Split::test) : read_cifar100(dir, Split::test);
    EXPECT_EQ(train->size(), 50000);
    EXPECT_EQ(test->size(), 10000);
    EXPECT_EQ(label_histogram(*train), std::vector<int64_t>(ten ? 10 : 100, ten ? 5000 : 500));
    // The constants are the measured values rounded to 4 decimals.
    const Normalization measured = compute_normalization(*train), documented = default_normalization(name);
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(measured.mean[c], documented.mean[c], 5.1e-5) << name << " channel " << c;
      EXPECT_NEAR(measured.std[c], documented.std[c], 5.1e-5) << name << " channel " << c;
    }
  }
  if (!any) GTEST_SKIP() << "no CIFAR data under " << data << " (data/fetch-cifar.sh cifar10 fetches it)";
}
