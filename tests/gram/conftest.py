"""The GRAM5 gatekeeper the job tests start (the one-node Slurm and the Dask LocalCluster, which pipelines use
too, are in tests/conftest.py). It lives for its test module only, so no daemon of its runs beside the rest of the
suite."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def gram5(tmp_path_factory):
    """A real GRAM5 gatekeeper + fork job manager (Debian's GCT) on credentials made with wrapgen.gsi, in a private
    network namespace holding only loopback (GCT binds the wildcard address); our GSI GridFTP server runs in the
    same namespace. Yields a namespace with `run(argv)` (inside it, with the user's proxy) and the paths."""
    import os
    import shutil
    import signal
    import socket
    import subprocess
    import time
    from pathlib import Path
    from types import SimpleNamespace

    from wrapgen.gsi.ca import init_ca, make_request
    from wrapgen.gsi.proxy import create_proxy, load_credential, write_proxy

    run = tmp_path_factory.mktemp("gram5")
    run.chmod(0o755)
    base = "/O=Grid/OU=wrapgen gram5"
    ca = init_ca(run / "ca", f"{base}/CN=GRAM CA")
    host = socket.gethostname()
    hkey, hreq = make_request(f"{base}/CN=host/{host}", run / "host", "host", [host, "localhost"], ["127.0.0.1"])
    ca.sign_file(hreq, run / "host" / "hostcert.pem")
    ukey, ureq = make_request(f"{base}/CN=GRAM User", run / "user", "user")
    ca.sign_file(ureq, run / "user" / "usercert.pem")
    proxy = write_proxy(create_proxy(load_credential(run / "user" / "usercert.pem", ukey), 4), run / "user" / "x509up")
    for d in ("services", "state", "jobs", "log", "audit", "cache", "ftproot"):
        (run / d).mkdir()
    (run / "jobs").chmod(0o1777)
    (run / "ftproot").chmod(0o755)
    (run / "grid-mapfile").write_text(f'"{base}/CN=GRAM User" {os.environ.get("USER") or "root"}\n')
    jm = shutil.which("globus-job-manager")
    (run / "jobmanager.conf").write_text("\n".join([
        "-type fork", f"-globus-gatekeeper-host {host}", "-globus-gatekeeper-port 2119",
        f'-globus-gatekeeper-subject "{base}/CN=host/{host}"', "-globus-host-cputype x86_64",
        "-globus-host-manufacturer unknown", "-globus-host-osname Linux", "-globus-host-osversion 6",
        "-globus-toolkit-version 6.2", "-globus-tcp-port-range 2120,2160", f"-x509-cert-dir {ca.trust_dir}",
        f"-state-file-dir {run}/state", f"-globus-job-dir {run}/jobs", f"-cache-location {run}/cache",
        f"-audit-directory {run}/audit", f"-stdio-log {run}/log", "-log-levels 'FATAL|ERROR|WARN|INFO'",
        f"-service-tag wrapgen{os.getpid()}", ""]))
    for svc in ("jobmanager", "jobmanager-fork"):
        (run / "services" / svc).write_text(f"stderr_log,local_cred - {jm} globus-job-manager -conf {run}/jobmanager.conf\n")
    (run / "gatekeeper.conf").write_text("\n".join([
        "-port 2119", f"-gridmap {run}/grid-mapfile", "-home /usr", f"-e {os.path.dirname(jm)}",
        f"-logfile {run}/log/gatekeeper.log", f"-grid_services {run}/services", f"-x509_cert_dir {ca.trust_dir}",
        f"-x509_user_cert {run}/host/hostcert.pem", f"-x509_user_key {hkey}", f"-pidfile {run}/gatekeeper.pid", ""]))
    holder = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep 86400"],
                              start_new_session=True)
    env = {**os.environ, "GLOBUS_TCP_PORT_RANGE": "2120,2160", "X509_CERT_DIR": str(ca.trust_dir),
           "X509_USER_PROXY": str(proxy)}
    inside = ["nsenter", "-t", str(holder.pid), "-n", "--"]
    deadline = time.monotonic() + 10
    while b"127.0.0.1" not in subprocess.run([*inside, "ip", "-br", "addr", "show", "lo"],
                                             capture_output=True).stdout:
        assert time.monotonic() < deadline, "the network namespace did not come up"
        time.sleep(0.1)
    ftp = None
    try:
        subprocess.run([*inside, "globus-gatekeeper", "-conf", str(run / "gatekeeper.conf")], env=env, check=True,
                       capture_output=True)
        import sys

        ftp = subprocess.Popen([*inside, sys.executable, "-m", "wrapgen", "gridftp-server", "--root",
                                str(run / "ftproot"), "--port", "2811", "--gsi", "--host-cert",
                                str(run / "host" / "hostcert.pem"), "--host-key", str(hkey), "--cert-dir",
                                str(ca.trust_dir), "--gridmap", str(run / "grid-mapfile")],
                               stdout=subprocess.PIPE, text=True)
        assert ftp.stdout.readline().startswith("serving "), "our GridFTP server did not start in the namespace"
        yield SimpleNamespace(
            contact=f"{host}:2119", gsiftp=f"gsiftp://{host}:2811", root=run / "ftproot", log=run / "log",
            run=lambda argv, timeout=300: subprocess.run([*inside, *argv], env=env, capture_output=True, text=True,
                                                         timeout=timeout))
    finally:
        if ftp is not None:
            ftp.terminate()
            ftp.wait(10)
        subprocess.run(["pkill", "-f", f"{run}/jobmanager.conf"])
        try:
            os.kill(int((run / "gatekeeper.pid").read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        job_dirs = Path.home() / ".globus" / "job"  # GRAM5's job managers leave these; remove them if empty
        for d in sorted(job_dirs.glob("**/*"), reverse=True) + [job_dirs, job_dirs.parent]:
            try:
                d.rmdir()
            except OSError:
                pass
