"""CopySettings: the options of one copy run (`wrapgen url-copy`, `wrapgen.copy`, and next job staging)."""

from __future__ import annotations

import argparse

from ..settings import Settings, option


def size(text: str) -> int:
    """A byte count with an optional K, M or G suffix (globus-url-copy's -tcp-bs form)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        n = int(float(text[:-1]) * units[text[-1].upper()]) if text[-1:].upper() in units else int(text)
        if n <= 0:
            raise ValueError
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a size in bytes such as 1048576 or 4M") from None
    return n


class CopySettings(Settings):
    """globus-url-copy's options where they apply; the flags are its spellings."""

    parallel: int = option(4, "-p", "-parallel", help="parallel data streams", ge=1, le=64)
    recursive: bool = option(False, "-r", help="copy a directory tree (SRC and DST end in '/')")
    mkdirs: bool = option(False, "-cd", help="create missing destination directories")
    concurrency: int = option(1, "-cc", help="files copied at once, each over its own sessions", ge=1, le=64)
    sync: bool = option(False, "-sync", help="copy only what is missing or differs at the destination")
    sync_level: int = option(2, "-sync-level", help="0: exists; 1: same size; 2: same size and not older "
                                                   "(default); 3: same checksum", ge=0, le=3)
    offset: int | None = option(None, "-off", "-partial-offset", help="first byte to copy")
    length: int | None = option(None, "-len", "-partial-length", help="bytes to copy")
    verify: bool = option(False, "-verify-checksum", help="compare checksums after each file")
    checksum: str = option("MD5", "-checksum-alg", help="checksum algorithm of -verify-checksum and -sync-level 3 "
                                                        "(MD5, ADLER32, CRC32, CRC32C, SHA1, SHA256, ...)")
    restart: bool = option(False, "-rst", "-restart", help="retry failed transfers")
    retries: int = option(5, "-rst-retries", help="retries of a failed file with -rst", ge=0)
    dcau: bool = option(True, "-nodcau", "-no-data-channel-authentication", negate=True,
                        help="gsiftp: do not authenticate data connections")
    delegate: bool = option(True, "-nodelegation", negate=True,
                            help="gsiftp: do not delegate the proxy (implies -nodcau)")
    private: bool = option(False, "-dcpriv", "-data-channel-private", help="gsiftp: encrypt the data channels (PROT P)")
    tcp_buffer: int | None = option(None, "-tcp-bs", "-tcp-buffer-size", parse=size, gt=0,
                                    help="TCP buffer size of the data connections, both ends (SBUF), e.g. 4M")
    fast: bool = option(True, "-fast", help="accepted for compatibility (sessions are always reused)")
    pipeline: bool = option(False, "-pp", help="accepted for compatibility (commands are already pipelined per "
                                               "session)")
    debug: bool = option(False, "-dbg", help="print the control channel conversation on stderr")
    verbose: bool = option(False, "-vb", help="print bytes and rates")
    quiet: bool = option(False, "-q", help="quiet")
    log_transfer: str | None = option(None, "-log-transfer", metavar="FILE",
                                      help="one NetLogger (BP) .start/.end pair per file: source, destination, "
                                           "bytes, streams, seconds, status")
    http_timeout: float = option(60.0, help="http(s) sources: seconds without a byte before a request gives up",
                                 gt=0)

    def check(self) -> None:
        """Raise ValueError if the options do not go together."""
        if self.private and not (self.dcau and self.delegate):
            raise ValueError("-dcpriv encrypts with the data channels' DCAU session: it cannot go with -nodcau or "
                             "-nodelegation")
        if (self.offset is not None and self.offset < 0) or (self.length is not None and self.length < 0):
            raise ValueError("-off and -len must be 0 or more")

    @property
    def partial(self) -> bool:
        """Only part of a file is copied (-off/-len)."""
        return self.offset is not None or self.length is not None

    @property
    def attempts(self) -> int:
        """How many times a file is tried."""
        return self.retries + 1 if self.restart else 1

