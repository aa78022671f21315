#pragma once
// A folder of images, one sub-folder per class (torchvision's ImageFolder layout):
//
//   root/<class name>/*.png|*.jpg|*.jpeg|*.bmp   (extensions in any case)
//
// Classes are the sub-folders sorted by name (byte order), so label k is the k-th name; images within
// a class are read in file-name order. Files with other extensions are ignored. Every image is decoded
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

// Errors: root missing or without class folders, a class folder without images, an image that cannot
// be decoded (the message names the file and stb_image's reason).
std::shared_ptr<InMemoryDataset> read_image_folder(const std::filesystem::path& root,
                                                   const ImageFolderOptions& options = {});

// Decodes one image file to `channels` (3) x height x width uint8 CHW, resized when its size differs.
std::vector<uint8_t> load_image_chw(const std::filesystem::path& path, int height, int width);

}  // namespace sugar::data
