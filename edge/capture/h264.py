"""Just enough of H.264's byte formats to remux without decoding: NAL units in Annex B
(start codes) and AVCC (length prefixes, the ``avcC`` box of MP4)."""

from __future__ import annotations

import re

START = b"\x00\x00\x00\x01"
SPS, PPS, IDR = 7, 8, 5
_SPLIT = re.compile(b"\x00\x00\x01")


def nal_units(annexb: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte string (start codes removed)."""
    # a 4-byte start code leaves a zero at the end of the NAL before it: trailing zeros are
    # never part of a NAL unit (rbsp_trailing_bits end in a 1 bit), so they can go
    parts = (part.rstrip(b"\x00") for part in _SPLIT.split(annexb))
    return [p for p in parts if p]


def nal_type(nal: bytes) -> int:
    """The nal_unit_type of one NAL unit."""
    return nal[0] & 0x1F


def parameter_sets(annexb: bytes) -> bytes:
    """SPS and PPS NAL units of *annexb*, as Annex B ('' when it has none)."""
    return b"".join(START + n for n in nal_units(annexb) if nal_type(n) in (SPS, PPS))


def avcc_to_annexb(extradata: bytes) -> bytes:
    """SPS/PPS from an ``avcC`` record (ISO/IEC 14496-15), as Annex B."""
    if len(extradata) < 7 or extradata[0] != 1:
        raise ValueError("not an avcC record")
    out = []
    pos = 5
    for count_mask in (0x1F, 0xFF):
        count = extradata[pos] & count_mask
        pos += 1
        for _ in range(count):
            size = int.from_bytes(extradata[pos : pos + 2], "big")
            pos += 2
            out.append(START + extradata[pos : pos + size])
            pos += size
    return b"".join(out)
