"""SCALE for Substrate's clients: the portable type registry and metadata V14 generated from the pallets'
declarations, and (in extrinsic_v4) the one consensus entry, Substrate's signed extrinsic format v4.

This module itself imports nothing (scalecodec is loaded by the submodules, on first use): the extrinsic
decode path asks it only whether bytes are SCALE format v4.
"""


def has_compact_length_prefix(data: bytes) -> bool:
    """Whether `data` opens with a SCALE compact length that counts exactly the bytes after it, as a
    format-v4 extrinsic does. A native (msgpack) extrinsic never does: its first byte 0x98 would announce
    38 bytes (a signed one is longer), 0x92 millions."""
    if not data:
        return False
    mode = data[0] & 3
    if mode == 0:
        return data[0] >> 2 == len(data) - 1
    if mode in (1, 2):
        size = 2 if mode == 1 else 4
        return len(data) > size and int.from_bytes(data[:size], "little") >> 2 == len(data) - size
    size = (data[0] >> 2) + 4
    return len(data) > size + 1 and int.from_bytes(data[1 : 1 + size], "little") == len(data) - 1 - size
