"""Small image folders for the end-to-end tests (tests/cli/*.sh import this through PYTHONPATH)."""
import os
import struct


def bmp(side, seed):
    """A side x side 24-bit uncompressed BMP whose pixels depend on seed; rows padded to 4 bytes."""
    row = side * 3 + (-side * 3) % 4
    pixels = bytes((seed * 37 + i) % 256 for i in range(row * side))
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def cat_dog_folder(root):
    """root/{train,test}/{cat,dog}/{0,1}.bmp: two classes of two 8x8 images in each split."""
    for split in ("train", "test"):
        for c, name in enumerate(("cat", "dog")):
            os.makedirs(f"{root}/{split}/{name}")
            for i in range(2):
                with open(f"{root}/{split}/{name}/{i}.bmp", "wb") as f:
                    f.write(bmp(8, c * 10 + i))
