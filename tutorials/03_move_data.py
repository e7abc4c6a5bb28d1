"""Move data the grid way: GSI credentials, a GridFTP server, parallel streams, checksums, third party.

Run it with `python tutorials/03_move_data.py` (or `make demo`). Everything happens in a temporary
directory on 127.0.0.1: a throw-away certificate authority, a host certificate, a user and a proxy (what
`wrapgen ca init`, `wrapgen cert request`, `wrapgen ca sign` and `wrapgen proxy-init` do on the command
line), two GSI GridFTP servers ("site A" and "site B"), then a stage-in, a computation on the staged data,
and a stage-out straight from site A to site B. On a real grid the servers are `wrapgen gridftp-server
--gsi` or the Grid Community Toolkit's, and the same calls work against both.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from wrapgen.gridftp import Client, Server, transfer
from wrapgen.gridftp.security import GSIConfig
from wrapgen.gsi.ca import init_ca, make_request
from wrapgen.gsi.proxy import create_proxy, load_credential, write_proxy

work = Path(tempfile.mkdtemp(prefix="wrapgen-tutorial-data-"))

# 1. A grid in a directory: CA (trust directory in X509_CERT_DIR layout), host and user certificates,
#    a 12-hour RFC 3820 proxy, and a grid-mapfile that maps the user's DN to an account.
ca = init_ca(work / "ca", "/O=Grid/OU=Tutorial/CN=Tutorial CA")
host_key, host_req = make_request("/O=Grid/OU=Tutorial/CN=localhost", work / "host", "host", ["localhost"],
                                  ["127.0.0.1"])
ca.sign_file(host_req, work / "host" / "hostcert.pem")
user_key, user_req = make_request("/O=Grid/OU=Tutorial/CN=Ada Lovelace", work / "user", "user")
ca.sign_file(user_req, work / "user" / "usercert.pem")
proxy = write_proxy(create_proxy(load_credential(work / "user" / "usercert.pem", user_key), 12), work / "x509up")
(work / "grid-mapfile").write_text('"/O=Grid/OU=Tutorial/CN=Ada Lovelace" ada\n')
os.environ["X509_CERT_DIR"] = str(ca.trust_dir)  # what GCT tools and wrapgen read
os.environ["X509_USER_PROXY"] = str(proxy)
print(f"grid identity: {load_credential(proxy).identity}")

gsi = GSIConfig(work / "host" / "hostcert.pem", host_key, ca.trust_dir, work / "grid-mapfile")
for site in ("site-a", "site-b"):
    (work / site).mkdir()

# 2. Two GSI GridFTP servers; each jails its clients to its root.
with Server(work / "site-a", gsi=gsi) as site_a, Server(work / "site-b", gsi=gsi) as site_b:
    # 3. Stage in: 8 MB of input over 4 parallel streams. The login delegates the proxy, so data
    #    connections are authenticated too (DCAU), and the server computes the checksum (CKSM).
    field = np.random.default_rng(1).standard_normal((1000, 1000))
    np.save(work / "field.npy", field)
    with Client("localhost", site_a.port, gsi=True) as a:
        a.put(work / "field.npy", "/field.npy", parallel=4)
        local_md5 = hashlib.md5((work / "field.npy").read_bytes()).hexdigest()
        assert a.checksum("/field.npy", "MD5") == local_md5
        print(f"staged in field.npy at site A, MD5 {local_md5} (checked by the server)")

        # 4. Compute on the staged data (here: numpy; in a pipeline, a wrapped kernel) and put the result back.
        a.get("/field.npy", work / "staged.npy", parallel=4)
        result = np.fft.rfft2(np.load(work / "staged.npy")).real
        np.save(work / "spectrum.npy", result)
        a.put(work / "spectrum.npy", "/spectrum.npy", parallel=4)

        # 5. Stage out: site A sends the result straight to site B (third party); nothing passes through here.
        with Client("localhost", site_b.port, gsi=True) as b:
            transfer(a, "/spectrum.npy", b, "/spectrum.npy", parallel=4)
            assert b.checksum("/spectrum.npy", "MD5") == hashlib.md5((work / "spectrum.npy").read_bytes()).hexdigest()
            print(f"site B holds spectrum.npy ({b.size('/spectrum.npy')} bytes), same MD5 as computed")

assert np.array_equal(np.load(work / "site-b" / "spectrum.npy"), result)
shutil.rmtree(work)
print("done: the same with files on the command line is `wrapgen url-copy -p 4 -verify-checksum "
      "file:///... gsiftp://host/...`")
