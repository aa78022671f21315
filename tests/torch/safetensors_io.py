"""The safetensors format read and written directly (Debian has no safetensors package for Python).

    8 bytes    N, the header length, unsigned little-endian
    N bytes    JSON: {"name": {"dtype": "F32", "shape": [64, 3, 3, 3], "data_offsets": [begin, end]}, ...,
               "__metadata__": {"key": "text"}} (the metadata is optional)
    the rest   each tensor's raw little-endian bytes; data_offsets count from the end of the header

The writer is also the README's example of giving Sugar a PyTorch state_dict (model.init_from).
"""
import json
import math
import struct

import torch

DTYPES = {"F32": (torch.float32, 4), "I64": (torch.int64, 8), "BF16": (torch.bfloat16, 2)}
NAMES = {torch.float32: "F32", torch.int64: "I64", torch.bfloat16: "BF16"}


def read_safetensors(path):
    """-> (tensors: name -> torch tensor, dtypes: name -> "F32"/"I64"/"BF16", metadata: dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(blob)} bytes)")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors, dtypes = {}, {}
    for name, info in header.items():
        if info["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected one of {sorted(DTYPES)}")
        dtype, size = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = info["shape"]
        count = math.prod(shape)
        if not (0 <= begin <= end <= len(data)) or end - begin != count * size:
            raise ValueError(f"{path}: tensor {name} has offsets [{begin}, {end}] for {info['dtype']} {shape}")
        raw = bytearray(data[begin:end])  # a writable copy: torch.frombuffer warns on read-only bytes
        flat = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(shape).clone()
        dtypes[name] = info["dtype"]
    return tensors, dtypes, metadata


def write_safetensors(path, tensors):
    """Writes name -> tensor (float32, int64 or bfloat16; a state_dict() as it is) to `path`."""
    header, chunks, offset = {}, [], 0
    for name, t in sorted(tensors.items()):
        t = t.detach().contiguous().cpu()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""  # little-endian bytes
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)  # spaces keep the data 8-byte aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
