#include "sugar/data/image_folder.hpp"

#include <algorithm>
#include <cctype>

#include "sugar/error.hpp"
#include "sugar/io/regular_file.hpp"

// stb is compiled into this file only, with internal linkage (STB*_STATIC), so its symbols cannot
// clash with another copy of stb that an application links.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_STATIC
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop

namespace sugar::data {
namespace {

bool is_image_file(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

// The visible entries of `dir` sorted by name (byte order); hidden ones (.DS_Store, .git) are skipped.
std::vector<std::filesystem::directory_entry> sorted_entries(const std::filesystem::path& dir) {
  std::vector<std::filesystem::directory_entry> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] != '.') out.push_back(entry);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  return out;
}

// What an entry is after following symlinks, for messages.
std::string entry_kind(const std::filesystem::directory_entry& entry) {
  std::error_code ec;
  if (entry.is_symlink(ec) && !std::filesystem::exists(entry.status(ec)))
    return "a dangling symlink (to " + std::filesystem::read_symlink(entry.path(), ec).string() + ")";
  switch (entry.status(ec).type()) {
    case std::filesystem::file_type::directory: return "a directory";
    case std::filesystem::file_type::fifo: return "a FIFO";
    case std::filesystem::file_type::character: return "a character device";
    case std::filesystem::file_type::block: return "a block device";
    case std::filesystem::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}

}  // namespace

std::vector<uint8_t> load_image_chw(const std::filesystem::path& path, int height, int width) {
  constexpr int channels = 3;
  const std::vector<uint8_t> bytes = io::read_regular_file_bytes(path.string(), io::kMaxImageFileBytes, "image file");
  int w = 0, h = 0, stored_channels = 0;
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &stored_channels))
    SUGAR_CHECK(int64_t{w} * h <= kMaxImagePixels, path.string(), ": image of ", w, "x", h,
                " pixels, more than Sugar decodes (", kMaxImagePixels, " pixels, 8192x8192)");
  stbi_uc* decoded = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &stored_channels,
                                           channels);
  SUGAR_CHECK(decoded != nullptr, path.string(), ": cannot decode image (", stbi_failure_reason(), ")");
  std::vector<uint8_t> hwc(static_cast<size_t>(height) * width * channels);
  int ok = 1;
  if (w == width && h == height) {
    std::copy(decoded, decoded + hwc.size(), hwc.begin());
  } else {
    ok = stbir_resize_uint8_generic(decoded, w, h, 0, hwc.data(), width, height, 0, channels, STBIR_ALPHA_CHANNEL_NONE,
                                    0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, nullptr);
  }
  stbi_image_free(decoded);
  SUGAR_CHECK(ok, path.string(), ": resizing ", w, "x", h, " to ", width, "x", height, " failed");
  std::vector<uint8_t> chw(hwc.size());
  const size_t plane = static_cast<size_t>(height) * width;
  for (size_t p = 0; p < plane; ++p)
    for (int c = 0; c < channels; ++c) chw[c * plane + p] = hwc[p * channels + c];
  return chw;
}

int64_t ImageFolderListing::image_count() const {
  int64_t count = 0;
  for (const auto& class_files : files) count += static_cast<int64_t>(class_files.size());
  return count;
}

ImageFolderListing list_image_folder(const std::filesystem::path& root) {
  SUGAR_CHECK(std::filesystem::is_directory(root), "image_folder: ", root.string(),
              " is not a folder (expected one sub-folder per class holding .png/.jpg/.jpeg/.bmp images)");
  ImageFolderListing listing;
  listing.root = root;
  for (const auto& class_dir : sorted_entries(root)) {
    if (!class_dir.is_directory()) continue;  // a stray file next to the class folders (README, labels.txt)
    std::vector<std::filesystem::path> images;
    for (const auto& entry : sorted_entries(class_dir.path())) {
      const bool image_name = is_image_file(entry.path());
      std::error_code ec;
      const bool dangling = entry.is_symlink(ec) && !std::filesystem::exists(entry.status(ec));
      if (!image_name && !dangling) continue;  // other files (notes.txt, labels.csv) are not samples
      SUGAR_CHECK(image_name && entry.is_regular_file(ec), "image_folder: ", entry.path().string(), " is ",
                  entry_kind(entry), ", expected an image file (.png/.jpg/.jpeg/.bmp)");
      images.push_back(entry.path());
    }
    SUGAR_CHECK(!images.empty(), "image_folder: class folder ", class_dir.path().string(),
                " holds no .png/.jpg/.jpeg/.bmp images");
    listing.class_names.push_back(class_dir.path().filename().string());
    listing.files.push_back(std::move(images));
  }
  SUGAR_CHECK(!listing.class_names.empty(), "image_folder: ", root.string(),
              " has no class sub-folders (expected root/<class>/*.png|jpg|jpeg|bmp)");
  return listing;
}

std::shared_ptr<InMemoryDataset> decode_image_folder(const ImageFolderListing& listing,
                                                     const ImageFolderOptions& options) {
  SUGAR_CHECK(options.height > 0 && options.width > 0, "image_folder: image size must be positive, got ",
              options.height, "x", options.width);
  const ImageShape shape{3, options.height, options.width};
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  pixels.reserve(static_cast<size_t>(listing.image_count() * shape.numel()));
  for (size_t label = 0; label < listing.files.size(); ++label) {
    for (const auto& file : listing.files[label]) {
      const std::vector<uint8_t> image = load_image_chw(file, options.height, options.width);
      pixels.insert(pixels.end(), image.begin(), image.end());
      labels.push_back(static_cast<int32_t>(label));
    }
  }
  const int num_classes = static_cast<int>(listing.class_names.size());
  return std::make_shared<InMemoryDataset>("image_folder " + listing.root.string(), shape, num_classes,
                                           listing.class_names, std::move(pixels), std::move(labels));
}

std::shared_ptr<InMemoryDataset> read_image_folder(const std::filesystem::path& root,
                                                   const ImageFolderOptions& options) {
  SUGAR_CHECK(options.height > 0 && options.width > 0, "image_folder: image size must be positive, got ",
              options.height, "x", options.width);
  return decode_image_folder(list_image_folder(root), options);
}

}  // namespace sugar::data
