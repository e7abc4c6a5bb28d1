"""GridFTP: wrapgen's server vs the Grid Community Toolkit's, both driven by globus-url-copy, in one run.

    python bench/gridftp.py [--size 1G] [--files 1000] [--tree 10000] [--repeat 3] [--only stack]

Rows: a file to /dev/null (RETR) and to the server's disk (STOR) at -p 1, 4, 8 with -fast; many 4 KiB
files (-r -fast, with and without -cc 4); CKSM MD5 of the file (and ours vs md5sum); raw loopback TCP
measured here as the ceiling; and the clients ("client:" rows: `wrapgen url-copy` vs globus-url-copy, the
many small files to and from wrapgen's server, GCT's column being globus-url-copy); and the whole stacks
("stack:" rows: `wrapgen url-copy` with wrapgen's server vs globus-url-copy with GCT's, a tree of --files and
one of --tree 4 KiB files put, then got back). Elsewhere the same
globus-url-copy binary talks to both servers (anonymous, stream of MODE E blocks), so the ratio is the
servers'. Both serve a page-cached file from a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def size_arg(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def guc(*args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run(["globus-url-copy", *args], capture_output=True, text=True, timeout=3600)
    if r.returncode:
        raise RuntimeError(f"globus-url-copy {' '.join(args)}: {r.stderr}")
    return time.perf_counter() - t


def url_copy(*args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-P", "-m", "wrapgen", "url-copy", *args], capture_output=True, text=True,
                       timeout=3600, cwd=ROOT)
    if r.returncode:
        raise RuntimeError(f"wrapgen url-copy {' '.join(args)}: {r.stderr}")
    return time.perf_counter() - t


def raw_tcp(size: int) -> float:
    """Seconds to push size bytes through one loopback TCP connection (the ceiling)."""
    srv = socket.create_server(("127.0.0.1", 0))
    buf = bytearray(4 << 20)

    def sink() -> None:
        c, _ = srv.accept()
        view = memoryview(bytearray(4 << 20))
        while c.recv_into(view):
            pass
        c.close()

    t = threading.Thread(target=sink)
    t.start()
    s = socket.create_connection(srv.getsockname())
    start = time.perf_counter()
    left = size
    while left:
        n = s.send(memoryview(buf)[: min(left, len(buf))])
        left -= n
    s.close()
    t.join()
    srv.close()
    return time.perf_counter() - start


def whole_stack(a: argparse.Namespace, work: Path, small: Path, urls: dict[str, str]) -> list[tuple]:
    """Our client and server vs globus-url-copy and GCT's server: a tree of small files put, then got back."""
    trees = [(a.files, small)]
    if a.tree:
        tree = work / "tree"
        tree.mkdir()
        for i in range(a.tree):
            (tree / f"f{i:05d}").write_bytes(os.urandom(4096))
        trees.append((a.tree, tree))
    rows = []
    for n, local in trees:
        for what in ("put", "get"):
            best = {}
            for name in ("ours", "gct"):
                times = []
                for i in range(a.repeat):
                    remote = f"{urls[name]}/stack-{n}-{i}/"
                    if what == "put":
                        src, dst = f"file://{local}/", remote
                    else:
                        src, dst = f"{urls[name]}/stack-{n}-0/", f"file://{work}/back-{name}-{n}-{i}/"
                    times.append(url_copy("-r", "-cd", "-p", "1", src, dst) if name == "ours"
                                 else guc("-r", "-cd", "-fast", src, dst))
                    if what == "get":
                        shutil.rmtree(work / f"back-{name}-{n}-{i}")
                best[name] = min(times)
            rows.append((f"stack: -r {what} {n} x 4 KiB", f"{n / best['ours']:.0f} files/s",
                         f"{n / best['gct']:.0f} files/s", best["gct"] / best["ours"]))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=size_arg, default=1 << 30)
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--tree", type=int, default=10_000, help="files in the larger tree of the whole-stack rows")
    p.add_argument("--only", choices=["stack"], help="only the whole-stack rows")
    a = p.parse_args()
    from wrapgen.gridftp.gct import start_gct
    from wrapgen.gridftp.server import Server

    import compileall

    compileall.compile_dir(str(ROOT / "wrapgen"), quiet=1)  # url-copy processes must not compile (see gsi.py)
    work = Path(tempfile.mkdtemp(prefix="wrapgen-bench-gridftp-"))
    work.chmod(0o755)  # GCT serves anonymous users as nobody
    try:
        roots = {"ours": work / "ours", "gct": work / "gct"}
        for r in roots.values():
            r.mkdir()
            r.chmod(0o777)
        big = work / "big.bin"
        with open(big, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(a.size // len(chunk)):
                f.write(chunk)
            f.write(chunk[: a.size % len(chunk)])
        for r in roots.values():
            shutil.copy(big, r / "big.bin")
        small = work / "small"
        small.mkdir()
        for i in range(a.files):
            (small / f"f{i:05d}").write_bytes(os.urandom(4096))
        gct, gport = start_gct(roots["gct"])
        rows = []
        with Server(roots["ours"], anonymous=True, anonymous_access="full", processes=os.cpu_count() or 1) as ours:
            # Ours is jailed to its root; GCT's -home-dir is only the starting directory, so its paths are absolute.
            urls = {"ours": f"ftp://127.0.0.1:{ours.port}", "gct": f"ftp://127.0.0.1:{gport}{roots['gct']}"}
            rows += whole_stack(a, work, small, urls)
            if a.only == "stack":
                gct.terminate()
                gct.wait()
                for name, ours_s, gct_s, ratio in rows:
                    print(f"{name:<38} {ours_s:>14} {gct_s:>14} {ratio:>9.2f}")
                return 0
            mb = a.size / 1e6
            for par in ("1", "4", "8"):
                for what in ("to /dev/null", "to disk"):
                    best = {}
                    for name, url in urls.items():
                        if what == "to /dev/null":
                            cmd = ["-fast", "-p", par, f"{url}/big.bin", "file:///dev/null"]
                        else:
                            cmd = ["-fast", "-p", par, f"file://{big}", f"{url}/up.bin"]
                        best[name] = min(guc(*cmd) for _ in range(a.repeat))
                    rows.append((f"{a.size >> 20} MiB {what}, -p {par}", f"{mb / best['ours']:.0f} MB/s",
                                 f"{mb / best['gct']:.0f} MB/s", best["gct"] / best["ours"]))
            for extra in ([], ["-cc", "4"]):
                best = {}
                for name, url in urls.items():
                    times = []
                    for i in range(a.repeat):
                        times.append(guc("-r", "-cd", "-fast", *extra, f"file://{small}/", f"{url}/small{i}/"))
                    best[name] = min(times)
                rows.append((f"{a.files} x 4 KiB, -r -fast {' '.join(extra)}".rstrip(),
                             f"{a.files / best['ours']:.0f} files/s", f"{a.files / best['gct']:.0f} files/s",
                             best["gct"] / best["ours"]))
            # The clients: wrapgen url-copy vs globus-url-copy, the same small files to and from our server
            # (process start-up included for both: ~0.1 s for ours, ~0.02 s for globus-url-copy).
            for what in ("put", "get"):
                best = {}
                for name in ("ours", "gct"):
                    times = []
                    for i in range(a.repeat):
                        if what == "put":
                            src, dst = f"file://{small}/", f"{urls['ours']}/c-{name}{i}/"
                        else:
                            src, dst = f"{urls['ours']}/small0/", f"file://{work}/c-{name}{i}/"
                        if name == "gct":
                            times.append(guc("-r", "-cd", "-fast", src, dst))
                        else:
                            times.append(url_copy("-r", "-cd", "-p", "1", src, dst))
                    best[name] = min(times)
                rows.append((f"client: url-copy -r {what} {a.files} files", f"{a.files / best['ours']:.0f} files/s",
                             f"{a.files / best['gct']:.0f} files/s", best["gct"] / best["ours"]))
            # CKSM MD5 by our server (native core) vs md5sum on the same page-cached file; and GCT's CKSM.
            from wrapgen.gridftp.client import Client

            def timed(fn) -> float:
                t = time.perf_counter()
                fn()
                return time.perf_counter() - t

            md5sum = min(timed(lambda: subprocess.run(["md5sum", str(big)], check=True, capture_output=True))
                         for _ in range(a.repeat))
            with Client("127.0.0.1", ours.port) as c:
                ours_ck = min(timed(lambda: c.checksum("/big.bin", "MD5")) for _ in range(a.repeat))
            with Client("127.0.0.1", gport) as c:
                gct_ck = min(timed(lambda: c.checksum(f"{roots['gct']}/big.bin", "MD5")) for _ in range(a.repeat))
            rows.append((f"CKSM MD5 {a.size >> 20} MiB", f"{mb / ours_ck:.0f} MB/s", f"{mb / gct_ck:.0f} MB/s",
                         gct_ck / ours_ck))
            cksm_vs_md5sum = md5sum / ours_ck
        gct.terminate()
        gct.wait()
        tcp = min(raw_tcp(a.size) for _ in range(a.repeat))
        print(f"GridFTP via globus-url-copy, loopback, best of {a.repeat}; raw TCP {a.size / 1e6 / tcp:.0f} MB/s "
              "(one connection, this process)")
        print(f"{'row':<38} {'wrapgen':>14} {'GCT 6.2':>14} {'ours/GCT':>9}")
        print("(stack rows: wrapgen url-copy to wrapgen's server vs globus-url-copy to GCT's; the others: "
              "globus-url-copy to both servers, or the clients to our server)")
        for name, ours_s, gct_s, ratio in rows:
            print(f"{name:<38} {ours_s:>14} {gct_s:>14} {ratio:>9.2f}")
        print(f"CKSM MD5 by our server vs md5sum on the same file: {cksm_vs_md5sum:.2f} x; "
              f"best /dev/null -p 1 vs raw TCP: {next(r[1] for r in rows if 'null, -p 1' in r[0])} / "
              f"{a.size / 1e6 / tcp:.0f} MB/s")
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
