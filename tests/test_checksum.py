"""wrapgen.checksum and the native core: identical to hashlib/zlib/published vectors, safe on bad input."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import zlib

import numpy as np
import pytest

from wrapgen import WrapgenError, _core
from wrapgen.checksum import ALGORITHMS, ChecksumError, checksum, file_checksum, new

SIZES = [0, 1, 2, 7, 8, 9, 15, 16, 31, 32, 33, 63, 255, 256, 767, 768, 769, 5551, 5552, 5553,
         8191, 8192, 24575, 24576, 24577, 100_003, (1 << 20) + 3]


def reference(algorithm: str, data: bytes) -> str:
    if algorithm == "ADLER32":
        return f"{zlib.adler32(data):08x}"
    if algorithm == "CRC32C":
        return f"{crc32c_bitwise(data):08x}"
    return hashlib.new(algorithm.lower(), data).hexdigest()


def crc32c_bitwise(data: bytes) -> int:
    """The definition, one bit at a time: slow but obviously right (kept to short inputs)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


@pytest.fixture(scope="module")
def blob() -> bytes:
    return random.Random(1234).randbytes((1 << 20) + 64)


def test_algorithms_are_gridftps_set_plus_crc32c() -> None:
    assert ALGORITHMS == ("MD5", "ADLER32", "SHA1", "SHA256", "SHA512", "CRC32C")


@pytest.mark.parametrize("algorithm", ["MD5", "ADLER32", "SHA1", "SHA256", "SHA512"])
def test_matches_hashlib_and_zlib_for_every_size(algorithm: str, blob: bytes) -> None:
    for size in SIZES:
        data = blob[:size]
        assert checksum(algorithm, data) == reference(algorithm, data), size


def test_crc32c_published_vectors() -> None:
    # RFC 3720 appendix B.4 and the common check value for "123456789".
    assert checksum("CRC32C", b"123456789") == "e3069283"
    assert checksum("CRC32C", bytes(32)) == "8a9136aa"
    assert checksum("CRC32C", b"\xff" * 32) == "62a8ab43"
    assert checksum("CRC32C", bytes(range(32))) == "46dd794e"
    assert checksum("CRC32C", bytes(range(31, -1, -1))) == "113fdb5c"
    iscsi_read = bytes.fromhex(
        "01c00000000000000000000000000000"
        "14000000000004000000001400000018"
        "28000000000000000200000000000000"
    )
    assert checksum("CRC32C", iscsi_read) == "d9963a56"


def test_crc32c_matches_the_bitwise_definition_on_short_inputs(blob: bytes) -> None:
    for size in range(0, 80):
        assert _core.crc32c(blob[:size]) == crc32c_bitwise(blob[:size]), size


def test_crc32c_hardware_and_table_paths_agree_at_every_alignment(blob: bytes) -> None:
    view = memoryview(blob)
    for start in range(8):
        for size in SIZES:
            chunk = view[start : start + size]
            assert _core.crc32c(chunk) == _core._crc32c_table(chunk), (start, size)


def test_adler32_simd_and_scalar_paths_agree_with_zlib(blob: bytes) -> None:
    view = memoryview(blob)
    for start in range(4):
        for size in SIZES:
            chunk = view[start : start + size]
            expected = zlib.adler32(chunk)
            assert _core.adler32(chunk) == expected, (start, size)
            assert _core._adler32_scalar(chunk) == expected, (start, size)
    # All 0xff bytes drive the sums hardest toward 32-bit overflow.
    worst = b"\xff" * 1_000_003
    assert _core.adler32(worst) == _core._adler32_scalar(worst) == zlib.adler32(worst)
    assert _core.adler32(worst, 0xFFF0FFF0) == zlib.adler32(worst, 0xFFF0FFF0)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_incremental_updates_equal_one_shot(algorithm: str, blob: bytes) -> None:
    rng = random.Random(algorithm)
    h = new(algorithm)
    pos = 0
    while pos < len(blob):
        step = rng.choice([1, 3, 64, 4095, 4096, 70_000])
        h.update(blob[pos : pos + step])
        pos += step
    assert h.hexdigest() == checksum(algorithm, blob)
    assert h.hexdigest() == h.hexdigest()  # digest() does not consume the state
    assert h.digest().hex() == h.hexdigest()
    assert h.digest_size == len(h.digest())
    assert h.name == algorithm


def test_copy_is_independent_and_reset_starts_over() -> None:
    h = new("sha256")
    h.update(b"abc")
    c = h.copy()
    c.update(b"def")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    assert c.hexdigest() == hashlib.sha256(b"abcdef").hexdigest()
    h.reset()
    assert h.hexdigest() == hashlib.sha256(b"").hexdigest()


def test_32_bit_sums_are_eight_hex_digits_big_endian() -> None:
    h = new("ADLER32")  # adler32(b"") == 1
    assert h.hexdigest() == "00000001"
    assert h.digest() == b"\x00\x00\x00\x01"


@pytest.mark.parametrize("spelling", ["sha256", "SHA-256", "Sha_256"])
def test_algorithm_names_are_case_and_dash_insensitive(spelling: str) -> None:
    assert checksum(spelling, b"x") == hashlib.sha256(b"x").hexdigest()


def test_accepts_any_contiguous_buffer() -> None:
    arr = np.arange(1000, dtype=np.float64)
    assert checksum("MD5", arr) == hashlib.md5(arr.tobytes()).hexdigest()
    assert checksum("MD5", bytearray(b"abc")) == hashlib.md5(b"abc").hexdigest()
    assert checksum("MD5", memoryview(b"abcdef")[2:]) == hashlib.md5(b"cdef").hexdigest()


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ChecksumError, match=r"unknown checksum algorithm 'CRC64'; expected one of MD5, ADLER32"):
        new("CRC64")
    with pytest.raises(TypeError, match="strings must be encoded"):
        checksum("MD5", "text")
    with pytest.raises(BufferError, match="expected a contiguous bytes-like object, got numpy.ndarray"):
        checksum("MD5", np.arange(100, dtype=np.float64)[::2])
    assert issubclass(ChecksumError, WrapgenError) and issubclass(ChecksumError, ValueError)


@pytest.fixture
def data_file(tmp_path, blob):
    path = tmp_path / "data.bin"
    path.write_bytes(blob)
    return path


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_file_ranges_match_the_bytes_they_name(algorithm: str, data_file, blob: bytes) -> None:
    size = len(blob)
    for offset, length in [(0, -1), (0, size), (1, -1), (12345, 1), (12345, 0), (size, -1), (size, 0),
                           (size - 1, 1), (7, 3 * 8192 + 11)]:
        end = size if length == -1 else offset + length
        expected = reference(algorithm, blob[offset:end]) if algorithm != "CRC32C" else \
            f"{_core._crc32c_table(blob[offset:end]):08x}"
        assert file_checksum(data_file, algorithm, offset, length) == expected, (offset, length)


def test_small_buffers_in_the_native_reader_give_the_same_sum(data_file, blob: bytes) -> None:
    for buffer_size in (1, 7, 4096):
        got = _core.file_checksum("MD5", os.fsencode(data_file), 3, 100_000, buffer_size)
        assert got == hashlib.md5(blob[3:100_003]).hexdigest()


def test_file_range_errors_name_the_file_and_what_was_expected(data_file, blob: bytes) -> None:
    size = len(blob)
    with pytest.raises(ChecksumError, match=rf"data.bin: offset {size + 1} is past the end of the file \({size} bytes\)"):
        file_checksum(data_file, "MD5", size + 1)
    with pytest.raises(ChecksumError, match=rf"data.bin: range 10\+{size} is past the end of the file"):
        file_checksum(data_file, "MD5", 10, size)
    with pytest.raises(ChecksumError, match="offset must be >= 0, got -1"):
        file_checksum(data_file, "MD5", -1)
    with pytest.raises(ChecksumError, match="length must be >= 0, or -1 for 'to the end', got -2"):
        file_checksum(data_file, "MD5", 0, -2)
    with pytest.raises(ChecksumError, match="offset must be an int, got float"):
        file_checksum(data_file, "MD5", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ChecksumError, match="unknown checksum algorithm"):
        file_checksum(data_file, "CRC32")


def test_pipes_are_read_in_order_from_the_offset(tmp_path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    payload = random.Random(9).randbytes(300_000)

    def writer() -> None:
        with open(fifo, "wb") as f:
            f.write(payload)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert file_checksum(fifo, "SHA1", 1000, -1) == hashlib.sha1(payload[1000:]).hexdigest()
    finally:
        t.join(timeout=10)


def test_missing_files_and_directories_raise_the_matching_oserror(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="cannot open: No such file or directory") as info:
        file_checksum(tmp_path / "nope.bin")
    assert info.value.filename == str(tmp_path / "nope.bin")
    with pytest.raises(IsADirectoryError):
        file_checksum(tmp_path)


def test_undecodable_file_names_work(tmp_path) -> None:
    path = os.path.join(os.fsencode(tmp_path), b"caf\xe9.bin")
    with open(path, "wb") as f:
        f.write(b"hello")
    assert file_checksum(path, "MD5") == hashlib.md5(b"hello").hexdigest()


def test_data_that_ends_before_the_range_is_an_error_not_a_short_sum(tmp_path) -> None:
    # A FIFO has no size up front (like a file truncated while read): the end shows only when data stops.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as f:
            f.write(b"abc")

    t = threading.Thread(target=writer)
    t.start()
    try:
        with pytest.raises(ChecksumError, match=r"fifo: data ended at byte 3, before the end of range 0\+10"):
            file_checksum(fifo, "MD5", 0, 10)
    finally:
        t.join(timeout=10)


def test_the_gil_is_released_while_hashing(tmp_path, progress_while) -> None:
    big = bytes(128 << 20)
    h = new("SHA512")
    assert progress_while(lambda: h.update(big)) > 1000
    path = tmp_path / "big.bin"
    path.write_bytes(big)
    assert progress_while(lambda: file_checksum(path, "SHA512")) > 1000


def test_one_checksum_shared_by_threads_is_not_corrupted() -> None:
    chunk = random.Random(5).randbytes(1 << 16)
    h = new("MD5")
    threads = [threading.Thread(target=lambda: [h.update(chunk) for _ in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert h.hexdigest() == hashlib.md5(chunk * 200).hexdigest()
