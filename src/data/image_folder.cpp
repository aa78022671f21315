#include "sugar/data/image_folder.hpp"

#include <algorithm>
#include <cctype>

#include "sugar/data/file_bytes.hpp"
#include "sugar/error.hpp"

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

template <class Keep>
std::vector<std::filesystem::path> sorted_entries(const std::filesystem::path& dir, Keep keep) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] == '.') continue;  // hidden files and folders (.DS_Store, .git)
    if (keep(entry)) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
  return out;
}

}  // namespace

std::vector<uint8_t> load_image_chw(const std::filesystem::path& path, int height, int width) {
  constexpr int channels = 3;
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  int w = 0, h = 0, stored_channels = 0;
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

std::shared_ptr<InMemoryDataset> read_image_folder(const std::filesystem::path& root,
                                                   const ImageFolderOptions& options) {
  SUGAR_CHECK(options.height > 0 && options.width > 0, "image_folder: image size must be positive, got ",
              options.height, "x", options.width);
  SUGAR_CHECK(std::filesystem::is_directory(root), "image_folder: ", root.string(),
              " is not a folder (expected one sub-folder per class holding .png/.jpg/.jpeg/.bmp images)");
  const auto class_dirs = sorted_entries(root, [](const auto& entry) { return entry.is_directory(); });
  SUGAR_CHECK(!class_dirs.empty(), "image_folder: ", root.string(),
              " has no class sub-folders (expected root/<class>/*.png|jpg|jpeg|bmp)");
  const ImageShape shape{3, options.height, options.width};
  std::vector<std::string> class_names;
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;
  for (size_t label = 0; label < class_dirs.size(); ++label) {
    const auto files = sorted_entries(
        class_dirs[label], [](const auto& entry) { return entry.is_regular_file() && is_image_file(entry.path()); });
    SUGAR_CHECK(!files.empty(), "image_folder: class folder ", class_dirs[label].string(),
                " holds no .png/.jpg/.jpeg/.bmp images");
    class_names.push_back(class_dirs[label].filename().string());
    for (const auto& file : files) {
      const std::vector<uint8_t> image = load_image_chw(file, options.height, options.width);
      pixels.insert(pixels.end(), image.begin(), image.end());
      labels.push_back(static_cast<int32_t>(label));
    }
  }
  const int num_classes = static_cast<int>(class_names.size());
  return std::make_shared<InMemoryDataset>("image_folder " + root.string(), shape, num_classes,
                                           std::move(class_names), std::move(pixels), std::move(labels));
}

}  // namespace sugar::data
