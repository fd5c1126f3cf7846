"""Reader for the IDX format of MNIST / Fashion-MNIST (``*-idx3-ubyte[.gz]``).

IDX layout (LeCun et al.): two zero bytes, a type code (0x08 = uint8), the
number of dimensions ``n``, then ``n`` big-endian uint32 sizes, then the data.
"""

import pathlib
import zlib

import numpy as np

from mit_dl.errors import DataError

_UINT8 = 0x08
# The largest decompressed IDX file read: 1 GiB (MNIST's largest is 47 MB). A gzip "bomb" stops there.
MAX_BYTES = 2**30


class IDXError(DataError):
    """An IDX file that is not valid (bad magic number, truncated, corrupt)."""


def read_idx(path):
    """The array stored in an IDX file (gzipped or not), its header and length checked.

    Args:
        path: the ``.idx`` or ``.gz`` file.

    Returns:
        A uint8 NumPy array of the shape the header gives.

    Raises:
        FileNotFoundError: there is no such file.
        IDXError: the file is corrupt, truncated or not an unsigned-byte IDX file.
    """
    path = pathlib.Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = _gunzip(path, raw)
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as error:
        raise IDXError(f"{path} is a corrupt or truncated gzip file ({error}); download it again.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IDXError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()}); check the file.")
    if raw[2] != _UINT8:
        raise IDXError(f"{path} stores type 0x{raw[2]:02x}; only unsigned bytes (0x08) are supported.")
    ndim = raw[3]
    if ndim == 0:
        raise IDXError(f"{path} announces an array of no dimensions; an MNIST file has 1 (labels) or 3 (images).")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{path} is truncated inside its header; download it again.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise IDXError(
            f"{path} holds {len(raw) - header} data bytes but its header announces {expected} "
            f"for shape {shape}; the file is truncated or corrupt, download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _gunzip(path, raw):
    """The decompressed bytes, read in pieces and refused past `MAX_BYTES`."""
    stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pieces, size = [], 0
    data = raw
    while data:
        piece = stream.decompress(data, 2**24)
        size += len(piece)
        if size > MAX_BYTES:
            raise IDXError(f"{path} decompresses to more than {MAX_BYTES >> 20} MiB; it is not an MNIST file.")
        pieces.append(piece)
        data = stream.unconsumed_tail
    if not stream.eof:
        raise EOFError("compressed file ended before the end-of-stream marker was reached")
    return b"".join(pieces)
