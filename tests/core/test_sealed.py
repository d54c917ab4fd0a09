"""The sealed-file format: round trips, and every alteration is caught."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sealed import Keyring, SealError, new_key, read_header, seal, unseal, unseal_to

RING = Keyring.parse(new_key("k1"))


def _sealed(data: bytes, ring: Keyring = RING, segment: int = 16) -> bytes:
    # Each chunk must be copied before the next is made (seal reuses its buffers).
    return b"".join(bytes(chunk) for chunk in seal(io.BytesIO(data), ring, segment))


def _open(blob: bytes, ring: Keyring = RING) -> bytes:
    return b"".join(unseal(io.BytesIO(blob), ring))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=200), segment=st.integers(1, 64))
def test_any_file_comes_back_as_it_went_in(data, segment):
    blob = _sealed(data, segment=segment)
    assert _open(blob) == data
    assert len(data) < 8 or data not in blob  # short strings occur by chance


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 48, 100])
def test_segment_boundaries(size):
    data = bytes(range(256))[:size] * 1
    target = io.BytesIO()
    length, sha = unseal_to(io.BytesIO(_sealed(data)), RING, target)
    assert (length, target.getvalue()) == (size, data)
    import hashlib

    assert sha == hashlib.sha256(data).hexdigest()


def test_every_flipped_byte_is_caught():
    blob = _sealed(b"A medical document that must not change" * 3)
    header_length = len(read_header(io.BytesIO(blob))[0])
    for index in range(len(blob)):
        altered = bytearray(blob)
        altered[index] ^= 0x40
        if index < 4:  # the magic: not a sealed file at all
            with pytest.raises(SealError):
                _open(bytes(altered))
            continue
        with pytest.raises((SealError, ValueError)):
            _open(bytes(altered))
    assert header_length > 0


def test_a_file_cut_or_extended_is_caught():
    data = b"x" * 64  # four whole segments of 16
    blob = _sealed(data)
    segment = 16 + 16
    for cut in (segment, 2 * segment, 3 * segment, len(blob) - 1):
        with pytest.raises(SealError):
            _open(blob[:-cut])
    with pytest.raises(SealError):
        _open(blob + blob[-segment:])
    with pytest.raises(SealError):
        _open(b"")


def test_segments_cannot_be_swapped():
    blob = _sealed(b"a" * 16 + b"b" * 16 + b"c" * 5)
    header = len(read_header(io.BytesIO(blob))[0])
    one, two = blob[header:header + 32], blob[header + 32:header + 64]
    swapped = blob[:header] + two + one + blob[header + 64:]
    with pytest.raises(SealError):
        _open(swapped)


def test_keys_rotate_the_old_one_still_opens_and_an_unknown_one_is_named():
    old_blob = _sealed(b"old", RING)
    rotated = Keyring.parse(f"{new_key('k2')},{new_key('k1')}")
    assert rotated.current == "k2"
    with pytest.raises(SealError, match="tag|authentication"):
        _open(old_blob, rotated)  # same id, different key bytes
    rotated = Keyring.parse(f"{new_key('k2')},k1:{_key_text(RING, 'k1')}")
    assert _open(old_blob, rotated) == b"old"
    new_blob = _sealed(b"new", rotated)
    assert read_header(io.BytesIO(new_blob))[1] == "k2"
    with pytest.raises(SealError, match="k2"):
        _open(new_blob, RING)


def _key_text(ring: Keyring, key_id: str) -> str:
    import base64

    return base64.urlsafe_b64encode(ring.keys[key_id]).decode().rstrip("=")


@pytest.mark.parametrize("spec", ["", "k1", "k1:short", "bad id:" + "A" * 43,
                                  f"{new_key('a')},{new_key('a')}"])
def test_bad_key_settings_are_refused_with_a_reason(spec):
    with pytest.raises(ValueError, match="key|id|base64|bytes"):
        Keyring.parse(spec)


class _Trickle(io.BytesIO):
    """A stream that returns at most 7 bytes per read, as sockets and S3 bodies may."""

    def read(self, size=-1):
        return super().read(7 if size is None or size < 0 else min(size, 7))

    def readinto(self, buffer):
        return super().readinto(memoryview(buffer)[:7])


def test_short_reads_neither_cut_nor_corrupt_a_file():
    data = bytes(range(200)) * 3
    blob = b"".join(bytes(c) for c in seal(_Trickle(data), RING, 16))
    assert _open(blob) == data
    assert b"".join(unseal(_Trickle(blob), RING)) == data


def test_the_digest_sees_exactly_the_plaintext():
    import hashlib

    for size in (0, 5, 16, 17, 64):
        data = bytes(range(size))
        sha = hashlib.sha256()
        for _chunk in seal(io.BytesIO(data), RING, 16, digest=sha):
            pass
        assert sha.hexdigest() == hashlib.sha256(data).hexdigest()


def test_each_file_has_its_own_key_so_equal_files_never_share_a_keystream():
    data = b"same medical document" * 4
    one, two = _sealed(data), _sealed(data)
    header = len(read_header(io.BytesIO(one))[0])
    # Same master key, same nonces (segment 0, 1, ...): only a per-file key makes the
    # ciphertexts differ; with a shared key they would be equal byte for byte.
    assert one[header:header + 16] != two[header:header + 16]
    assert _open(one) == _open(two) == data
