#!/usr/bin/env python3
"""Writes a CIFAR-10-format data set of random pixels for timing training (not for learning):
data_batch_1..5.bin sharing TRAIN_IMAGES records and test_batch.bin with TEST_IMAGES, each record a
label byte (cycling through the 10 classes) and 3,072 pixel bytes.

    python3 scripts/make_cifar_like.py DIR TRAIN_IMAGES [TEST_IMAGES]
"""
import os
import random
import sys


def write(path, count, first_label, rng):
    with open(path, "wb") as f:
        for i in range(count):
            f.write(bytes([(first_label + i) % 10]) + rng.randbytes(3072))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: make_cifar_like.py DIR TRAIN_IMAGES [TEST_IMAGES]")
    root, images = sys.argv[1], int(sys.argv[2])
    test_images = int(sys.argv[3]) if len(sys.argv) == 4 else 256
    os.makedirs(root, exist_ok=True)
    rng = random.Random(0)
    for k in range(5):
        write(os.path.join(root, f"data_batch_{k + 1}.bin"), images // 5 + (k < images % 5), k, rng)
    write(os.path.join(root, "test_batch.bin"), test_images, 0, rng)


if __name__ == "__main__":
    main()
