#include "sugar/data/cifar.hpp"

#include <cstring>

#include "sugar/data/file_bytes.hpp"
#include "sugar/error.hpp"
#include "sugar/text.hpp"

namespace sugar::data {
namespace {

constexpr int kSide = 32;
constexpr int64_t kPixelBytes = 3 * kSide * kSide;

// The folder holding the files: `dir` itself, or the official sub-folder when the user gave its parent.
std::filesystem::path locate(const std::filesystem::path& dir, const std::vector<std::string>& files,
                             const char* official_subdir, const char* dataset) {
  auto has_all = [&](const std::filesystem::path& d) {
    for (const auto& f : files)
      if (!names_an_entry(d / f)) return false;
    return true;
  };
  if (has_all(dir)) return dir;
  if (has_all(dir / official_subdir)) return dir / official_subdir;
  std::string missing;
  for (const auto& f : files)
    if (!names_an_entry(dir / f)) missing += (missing.empty() ? "" : ", ") + f;
  SUGAR_CHECK(std::filesystem::is_directory(dir), dataset, ": data folder ", dir.string(),
              " does not exist (expected it to hold ", text::join(files), "; run data/fetch-cifar.sh ",
              std::string(dataset), ")");
  throw Error(detail::concat(dataset, ": ", dir.string(), " is missing ", missing, " (expected ", text::join(files),
                             "; run data/fetch-cifar.sh ", dataset, ")"));
}

// Appends every record of one file. Each record starts with one byte per entry of label_limits (every
// one is checked against its limit, so a corrupt file is caught whichever label is used); label_used
// picks the byte that becomes the label.
void read_records(const std::filesystem::path& path, const std::vector<int>& label_limits, size_t label_used,
                  std::vector<uint8_t>& pixels, std::vector<int32_t>& labels) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const int64_t label_bytes = static_cast<int64_t>(label_limits.size());
  const int64_t record = label_bytes + kPixelBytes;
  const int64_t size = static_cast<int64_t>(bytes.size());
  SUGAR_CHECK(size % record == 0, path.string(), ": size ", size, " bytes is not a whole number of ", record,
              "-byte records (", size / record, " records and ", size % record, " bytes left over)");
  const int64_t count = size / record;
  const size_t pixel_start = pixels.size();
  pixels.resize(pixel_start + static_cast<size_t>(count * kPixelBytes));
  labels.reserve(labels.size() + static_cast<size_t>(count));
  for (int64_t r = 0; r < count; ++r) {
    const uint8_t* rec = bytes.data() + r * record;
    for (size_t b = 0; b < label_limits.size(); ++b) {
      const char* which = label_limits.size() == 1 ? "label" : (b == 0 ? "coarse label" : "fine label");
      SUGAR_CHECK(rec[b] < label_limits[b], path.string(), ": record ", r, " has ", which, " ", int{rec[b]},
                  ", outside [0, ", label_limits[b], ")");
    }
    labels.push_back(rec[label_used]);
    std::memcpy(pixels.data() + pixel_start + r * kPixelBytes, rec + label_bytes, kPixelBytes);
  }
}

// An empty split would only show when training finds no batch, after the run directory exists; it is
// a fault of the files, reported with them.
void check_not_empty(const std::vector<int32_t>& labels, const std::filesystem::path& folder,
                     const std::vector<std::string>& files, int64_t record_bytes, const char* dataset, Split split) {
  if (!labels.empty()) return;
  const std::string what = files.size() == 1 ? (folder / files[0]).string() + " is empty"
                                             : "every file in " + folder.string() + " is empty (" + text::join(files) + ")";
  throw Error(detail::concat(dataset, " ", split_name(split), ": ", what, "; expected at least one ", record_bytes,
                             "-byte record"));
}

}  // namespace

std::shared_ptr<InMemoryDataset> read_cifar10(const std::filesystem::path& dir, Split split) {
  std::vector<std::string> files;
  if (split == Split::train) {
    for (int k = 1; k <= 5; ++k) files.push_back("data_batch_" + std::to_string(k) + ".bin");
  } else {
    files.push_back("test_batch.bin");
  }
  const auto folder = locate(dir, files, "cifar-10-batches-bin", "cifar10");
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (const auto& f : files) read_records(folder / f, {10}, 0, pixels, labels);
  check_not_empty(labels, folder, files, 1 + kPixelBytes, "cifar10", split);
  return std::make_shared<InMemoryDataset>(std::string("cifar10 ") + split_name(split), ImageShape{3, kSide, kSide},
                                           10, cifar10_class_names(), std::move(pixels), std::move(labels));
}

std::shared_ptr<InMemoryDataset> read_cifar100(const std::filesystem::path& dir, Split split, Cifar100Labels kind) {
  const std::vector<std::string> files{split == Split::train ? "train.bin" : "test.bin"};
  const auto folder = locate(dir, files, "cifar-100-binary", "cifar100");
  const bool fine = kind == Cifar100Labels::fine;
  const int classes = fine ? 100 : 20;
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  read_records(folder / files[0], {20, 100}, fine ? 1 : 0, pixels, labels);
  check_not_empty(labels, folder, files, 2 + kPixelBytes, "cifar100", split);
  return std::make_shared<InMemoryDataset>(std::string("cifar100 ") + split_name(split) + (fine ? "" : " (coarse)"),
                                           ImageShape{3, kSide, kSide}, classes,
                                           fine ? cifar100_fine_class_names() : cifar100_coarse_class_names(),
                                           std::move(pixels), std::move(labels));
}

// Names as in the releases' batches.meta.txt, fine_label_names.txt and coarse_label_names.txt.
const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names{"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

const std::vector<std::string>& cifar100_fine_class_names() {
  static const std::vector<std::string> names{
      "apple",       "aquarium_fish", "baby",         "bear",       "beaver",    "bed",         "bee",
      "beetle",      "bicycle",       "bottle",       "bowl",       "boy",       "bridge",      "bus",
      "butterfly",   "camel",         "can",          "castle",     "caterpillar", "cattle",    "chair",
      "chimpanzee",  "clock",         "cloud",        "cockroach",  "couch",     "crab",        "crocodile",
      "cup",         "dinosaur",      "dolphin",      "elephant",   "flatfish",  "forest",      "fox",
      "girl",        "hamster",       "house",        "kangaroo",   "keyboard",  "lamp",        "lawn_mower",
      "leopard",     "lion",          "lizard",       "lobster",    "man",       "maple_tree",  "motorcycle",
      "mountain",    "mouse",         "mushroom",     "oak_tree",   "orange",    "orchid",      "otter",
      "palm_tree",   "pear",          "pickup_truck", "pine_tree",  "plain",     "plate",       "poppy",
      "porcupine",   "possum",        "rabbit",       "raccoon",    "ray",       "road",        "rocket",
      "rose",        "sea",           "seal",         "shark",      "shrew",     "skunk",       "skyscraper",
      "snail",       "snake",         "spider",       "squirrel",   "streetcar", "sunflower",   "sweet_pepper",
      "table",       "tank",          "telephone",    "television", "tiger",     "tractor",     "train",
      "trout",       "tulip",         "turtle",       "wardrobe",   "whale",     "willow_tree", "wolf",
      "woman",       "worm"};
  return names;
}

const std::vector<std::string>& cifar100_coarse_class_names() {
  static const std::vector<std::string> names{"aquatic_mammals",
                                              "fish",
                                              "flowers",
                                              "food_containers",
                                              "fruit_and_vegetables",
                                              "household_electrical_devices",
                                              "household_furniture",
                                              "insects",
                                              "large_carnivores",
                                              "large_man-made_outdoor_things",
                                              "large_natural_outdoor_scenes",
                                              "large_omnivores_and_herbivores",
                                              "medium_mammals",
                                              "non-insect_invertebrates",
                                              "people",
                                              "reptiles",
                                              "small_mammals",
                                              "trees",
                                              "vehicles_1",
                                              "vehicles_2"};
  return names;
}

}  // namespace sugar::data
