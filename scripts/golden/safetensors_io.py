"""Minimal safetensors writer and reader (standard library + torch only; the `safetensors` package is not here).

Layout written: 8-byte little-endian header length N, then N bytes of UTF-8 JSON, then the data section.
The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the start
of the data section) and "__metadata__" to a dict of strings. Tensors are stored contiguously in the order they
were given, which is also their order in the header. The header is padded with spaces to a multiple of 8 bytes,
as the reference implementation does, so the data section starts aligned.

Output is a pure function of the input (insertion-ordered keys, fixed separators), so equal inputs give
byte-identical files.
"""

import json
import struct

import torch

_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
}
_TORCH_DTYPES = {v: k for k, v in _DTYPES.items()}


def _little_endian_bytes(t: torch.Tensor) -> bytes:
    # numpy is only a view helper here; `<` makes the byte order explicit whatever the host is
    a = t.detach().contiguous().cpu().numpy()
    return a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes(order="C")


def save(path: str, tensors: dict, metadata: dict = None):
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(v, str):
                raise TypeError(f"metadata value for {k!r} must be a string")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise ValueError("reserved name")
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        b = _little_endian_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path: str):
    """Returns (dict name -> tensor in header order, metadata dict). Checks that the data section is tiled."""
    import numpy as np

    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    np_types = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4"}
    out = {}
    expected = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        if begin != expected:
            raise ValueError(f"{name}: gap or overlap in data section")
        expected = end
        a = np.frombuffer(data[begin:end], dtype=np_types[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(a.astype(a.dtype.newbyteorder("="), copy=True))
    if expected != len(data):
        raise ValueError("trailing bytes after the last tensor")
    order = list(header)  # json.loads keeps the file's key order
    return {k: out[k] for k in order}, metadata
