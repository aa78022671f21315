#pragma once
// Per-dataset normalisation constants: the mean and standard deviation of every pixel value (in [0, 1])
// of the training split, per channel, computed over all pixels at once (not the mean of per-image stds,
// the 0.2023/0.1994/0.2010 that circulates for CIFAR-10). Sources and checks, in data/README.md:
//
//   cifar10        mean (0.4914, 0.4822, 0.4465)  std (0.2470, 0.2435, 0.2616)
//   cifar100       mean (0.5071, 0.4865, 0.4409)  std (0.2673, 0.2564, 0.2762)
//   fashion_mnist  mean 0.2860                    std 0.3530
//   mnist          mean 0.1307                    std 0.3081   (PyTorch's examples/mnist)
//
// MNIST-style images are padded to 32x32 after these were measured on the 28x28 originals, so the
// padding is 0 before and -mean/std after normalisation, as with torchvision's Pad + Normalize.
#include <string_view>

#include "sugar/data/dataset.hpp"
#include "sugar/data/transforms.hpp"

namespace sugar::data {

// The constants above; image_folder (and any unknown name) is an error: use compute_normalization.
Normalization default_normalization(std::string_view dataset_name);

// Per-channel population mean and std of dataset pixels / 255 (double accumulation).
Normalization compute_normalization(const Dataset& dataset);

}  // namespace sugar::data
