#pragma once
// A folder of images, one sub-folder per class (torchvision's ImageFolder layout):
//
//   root/<class name>/*.png|*.jpg|*.jpeg|*.bmp   (extensions in any case)
//
// Classes are the sub-folders sorted by name (byte order), so label k is the k-th name; images within
// a class are read in file-name order. Files with other extensions and hidden entries are ignored. Every image is decoded
// with stb_image as RGB (grey images are replicated, alpha is dropped) and resized to the configured
// size with stb_image_resize's triangle filter (bilinear when enlarging, area-weighted when shrinking).
#include <filesystem>
#include <memory>

#include "sugar/data/dataset.hpp"

namespace sugar::data {

struct ImageFolderOptions {
  int height = 32;
  int width = 32;
};

// What a folder holds, found without decoding anything: so that a broken layout is reported in
// seconds, before a large folder is decoded and before a run directory is created.
struct ImageFolderListing {
  std::filesystem::path root;
  std::vector<std::string> class_names;               // sorted
  std::vector<std::vector<std::filesystem::path>> files;  // per class, sorted
  int64_t image_count() const;
};

// Errors (each naming the folder or file and what was expected): root missing or without class
// folders, a class folder without images, an entry with an image extension that is not a regular file
// after following symlinks (a directory named x.png, a FIFO), a dangling symlink anywhere in a class
// folder (a link the user made that leads nowhere is a mistake, whatever its name).
ImageFolderListing list_image_folder(const std::filesystem::path& root);

// Decodes every listed image. Errors: an image that cannot be decoded or is larger than
// kMaxImagePixels (the message names the file and stb_image's reason).
std::shared_ptr<InMemoryDataset> decode_image_folder(const ImageFolderListing& listing,
                                                     const ImageFolderOptions& options = {});

// list_image_folder, then decode_image_folder.
std::shared_ptr<InMemoryDataset> read_image_folder(const std::filesystem::path& root,
                                                   const ImageFolderOptions& options = {});

// An image of more pixels (8192 x 8192) is refused before it is decoded: a small PNG can declare
// gigapixels, and decoding holds width x height x 3 bytes at once.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

// Decodes one image file to `channels` (3) x height x width uint8 CHW, resized when its size differs.
std::vector<uint8_t> load_image_chw(const std::filesystem::path& path, int height, int width);

}  // namespace sugar::data
