"""GSI GridFTP: the cost of a GSI login plus a 1-byte transfer, wrapgen's client vs globus-url-copy against the
same server (GCT's globus-gridftp-server, then wrapgen's), in one run.

    python bench/gsi.py [--files 20]

Rows per server:
  guc         globus-url-copy, one process per file (it always authenticates, delegates and does DCAU A)
  guc -f      globus-url-copy with all files in one -f list (its session reuse)
  ours cli    `wrapgen url-copy`, one process per file (includes Python start-up)
  ours agent  the same with WRAPGEN_URL_COPY_AGENT set: each process hands its run to the agent, which keeps
              the session (the first run, which starts the agent, is not timed)
  ours        wrapgen.gridftp.Client: a new GSI session (login, delegation, DCAU A) per file
  ours nodeleg  the same without delegation (DCAU N): the server makes no key pair
  ours reuse  one GSI session for all files
The goal (issue 5) is <= 0.5 x globus-url-copy's per-file cost. A throw-away CA, host and user credentials
are made in a temporary directory; nothing outside it is touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE = "/O=Grid/OU=wrapgen bench"


def world(d: Path) -> dict[str, str]:
    """CA, trust dir, host credential, user proxy and grid-mapfile, readable by the account GCT maps to."""
    from wrapgen.gsi.ca import init_ca, make_request
    from wrapgen.gsi.proxy import create_proxy, load_credential, write_proxy

    ca = init_ca(d / "ca", f"{BASE}/CN=Bench CA")
    key, req = make_request(f"{BASE}/CN=Bench User", d / "user", "user")
    ca.sign_file(req, d / "user" / "usercert.pem")
    hkey, hreq = make_request(f"{BASE}/CN=localhost", d / "host", "host", ["localhost"], ["127.0.0.1"])
    ca.sign_file(hreq, d / "host" / "hostcert.pem")
    proxy = write_proxy(create_proxy(load_credential(d / "user" / "usercert.pem", key), 12), d / "x509up")
    for p in (d, d / "ca", ca.trust_dir):
        p.chmod(0o755)
    for f in ca.trust_dir.iterdir():
        f.chmod(0o644)
    account = "nobody" if os.getuid() == 0 else __import__("getpass").getuser()
    (d / "grid-mapfile").write_text(f'"{BASE}/CN=Bench User" {account}\n')
    return {"X509_CERT_DIR": str(ca.trust_dir), "X509_USER_CERT": str(d / "host" / "hostcert.pem"),
            "X509_USER_KEY": str(hkey), "GRIDMAP": str(d / "grid-mapfile"), "X509_USER_PROXY": str(proxy)}


def per_file(fn, n: int) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20)
    args = ap.parse_args()
    from wrapgen.gridftp.client import Client
    from wrapgen.gridftp.gct import start_gct
    from wrapgen.gridftp.security import GSIConfig
    from wrapgen.gridftp.server import Server

    # A wheel install has bytecode; an editable one under PYTHONDONTWRITEBYTECODE would compile every module
    # in every `wrapgen url-copy` process (~100 ms) and measure that instead.
    import compileall

    compileall.compile_dir(str(ROOT / "wrapgen"), quiet=1)
    d = Path(tempfile.mkdtemp(prefix="wrapgen-bench-gsi-"))
    d.chmod(0o755)
    try:
        w = world(d)
        served = d / "root"
        served.mkdir(mode=0o777)
        served.chmod(0o777)
        (served / "one").write_bytes(b"x")
        (served / "one").chmod(0o644)
        out = d / "out"
        out.mkdir()
        env = {**os.environ, "X509_CERT_DIR": w["X509_CERT_DIR"], "X509_USER_PROXY": w["X509_USER_PROXY"]}
        os.environ.update(X509_CERT_DIR=w["X509_CERT_DIR"], X509_USER_PROXY=w["X509_USER_PROXY"])
        gct_proc, gct_port = start_gct(served, gsi={k: w[k] for k in ("X509_CERT_DIR", "X509_USER_CERT",
                                                                         "X509_USER_KEY", "GRIDMAP")})
        ours = Server(served, gsi=GSIConfig(w["X509_USER_CERT"], w["X509_USER_KEY"], w["X509_CERT_DIR"],
                                            w["GRIDMAP"])).start()
        n = args.files
        print(f"GSI login + 1-byte get, per file, {n} files (lower is better)\n")
        print(f"{'server':<6} {'client':<12} {'ms/file':>8} {'GUC/ours':>9}")
        try:
            for name, port, prefix in (("GCT", gct_port, str(served)), ("ours", ours.port, "")):
                src = f"gsiftp://localhost:{port}{prefix}/one"

                def guc_each() -> None:
                    for i in range(n):
                        r = subprocess.run(["globus-url-copy", src, f"file://{out}/g{i}"], env=env,
                                           capture_output=True, text=True, timeout=120)
                        if r.returncode:
                            raise RuntimeError(r.stderr)

                def guc_list() -> None:
                    lst = out / "list"
                    lst.write_text("".join(f"{src} file://{out}/l{i}\n" for i in range(n)))
                    r = subprocess.run(["globus-url-copy", "-f", str(lst)], env=env, capture_output=True,
                                       text=True, timeout=600)
                    if r.returncode:
                        raise RuntimeError(r.stderr)

                def cli_runs(run_env: dict[str, str], prefix: str) -> None:
                    for i in range(n):
                        r = subprocess.run([sys.executable, "-P", "-m", "wrapgen", "url-copy", src,
                                            f"file://{out}/{prefix}{i}"], env=run_env, capture_output=True,
                                           text=True, timeout=120, cwd=ROOT)
                        if r.returncode:
                            raise RuntimeError(r.stderr)

                agent_env = {**env, "WRAPGEN_URL_COPY_AGENT": "30", "XDG_RUNTIME_DIR": str(d / "run")}
                (d / "run").mkdir(mode=0o700, exist_ok=True)

                def agent_up() -> None:  # the first run starts the agent; wait until it listens
                    subprocess.run([sys.executable, "-P", "-m", "wrapgen", "url-copy", src, f"file://{out}/a"],
                                   env=agent_env, check=True, capture_output=True, timeout=120, cwd=ROOT)
                    for _ in range(400):
                        if list((d / "run" / "wrapgen").glob("url-copy-*.sock")):
                            return
                        time.sleep(0.05)
                    raise RuntimeError("the url-copy agent did not start")

                def ours_each() -> None:
                    for i in range(n):
                        with Client("localhost", port, gsi=True) as c:
                            c.get(f"{prefix}/one", out / f"o{i}", parallel=1)

                def ours_nodeleg() -> None:
                    for i in range(n):
                        with Client("localhost", port, gsi=True, delegate=False) as c:
                            c.get(f"{prefix}/one", out / f"n{i}", parallel=1)

                def ours_reuse() -> None:
                    with Client("localhost", port, gsi=True) as c:
                        for i in range(n):
                            c.get(f"{prefix}/one", out / f"r{i}", parallel=1)

                guc_cost = per_file(guc_each, n)
                agent_up()
                rows = [("guc", guc_cost), ("guc -f", per_file(guc_list, n)), ("ours cli", per_file(lambda: cli_runs(env, "c"), n)),
                        ("ours agent", per_file(lambda: cli_runs(agent_env, "a"), n)),
                        ("ours", per_file(ours_each, n)), ("ours nodeleg", per_file(ours_nodeleg, n)),
                        ("ours reuse", per_file(ours_reuse, n))]
                for client, cost in rows:
                    print(f"{name:<6} {client:<12} {cost * 1e3:>8.1f} {guc_cost / cost:>8.2f}x")
                for f in out.iterdir():
                    if f.name != "list" and f.read_bytes() != b"x":
                        raise RuntimeError(f"{f}: wrong content")
        finally:
            ours.stop()
            gct_proc.terminate()
            gct_proc.wait(10)
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
