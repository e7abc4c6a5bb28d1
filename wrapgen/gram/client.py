"""A client of wrapgen's job manager over HTTP(S) (requests): submit, status, cancel, signals, events, output.
Replies with an error become the same exceptions the manager raises (RSLError, JobNotFound, GRAMError with
GRAM's code)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from .description import JobDescription
from .errors import GRAMError, JobNotFound, RSLError
from .state import Signal


class JobClient:
    """One job manager, by its URL (http(s)://host:port); cert and verify as requests takes them."""

    def __init__(self, url: str, cert: str | tuple[str, str] | None = None, verify: str | bool | None = None,
                 timeout: float = 60.0) -> None:
        import requests

        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise GRAMError(f"{url}: expected a job manager URL, http(s)://host:port", code=96)
        self.url = f"{u.scheme}://{u.netloc}"
        self.session = requests.Session()
        self.session.cert = cert
        self.verify = verify  # per request: requests lets $REQUESTS_CA_BUNDLE override a session's verify
        self.timeout = timeout

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        import requests

        try:
            if self.verify is not None:
                kw["verify"] = self.verify
            r = self.session.request(method, self.url + path, timeout=kw.pop("timeout", self.timeout), **kw)
        except requests.RequestException as exc:
            raise GRAMError(f"{self.url}: {exc}", code=79) from None
        if r.status_code >= 400:
            try:
                err = r.json()
                message, code = err.get("error", r.reason), int(err.get("code", 0))
            except ValueError:
                message, code = f"HTTP {r.status_code} {r.reason}", 0
            if r.status_code == 404 and code == 156:
                raise JobNotFound(message)
            if code in (1, 2, 39, 42, 48) or (r.status_code == 400 and 50 <= code <= 65):
                raise RSLError(message, code=code)
            raise GRAMError(message, code=code or 79)
        ctype = r.headers.get("Content-Type", "")
        return r.json() if ctype.startswith("application/json") else r.content

    def _path(self, contact: str) -> str:
        u = urlsplit(contact)
        path = u.path if u.scheme else f"/jobs/{contact}"
        if not path.startswith("/jobs/") or path.count("/") != 2:
            raise GRAMError(f"{contact}: expected a job contact, {self.url}/jobs/ID", code=80)
        return path

    def submit(self, job: JobDescription | str | list[str]) -> dict[str, Any]:
        """Submit a description, RSL text or an argv list; the job's record, with its contact."""
        if isinstance(job, list):
            job = JobDescription(executable=job[0], arguments=job[1:])
        if isinstance(job, JobDescription):
            return self._call("POST", "/jobs", data=job.model_dump_json(), headers={"Content-Type": "application/json"})
        return self._call("POST", "/jobs", data=job.encode(), headers={"Content-Type": "application/x-rsl"})

    def status(self, contact: str) -> dict[str, Any]:
        """The job's record."""
        return self._call("GET", self._path(contact))

    def jobs(self) -> list[dict[str, Any]]:
        """The caller's jobs."""
        return self._call("GET", "/jobs")

    def cancel(self, contact: str) -> dict[str, Any]:
        """Cancel the job."""
        return self._call("DELETE", self._path(contact))

    def signal(self, contact: str, sig: Signal | str | int, arg: Any = None) -> dict[str, Any]:
        """Send one of GRAM's signals."""
        name = sig.name if isinstance(sig, Signal) else sig
        return self._call("POST", self._path(contact) + "/signal", data=json.dumps({"signal": name, "arg": arg}),
                          headers={"Content-Type": "application/json"})

    def register(self, contact: str, url: str, mask: int = 0xFFFFF) -> None:
        """Have the manager POST the job's state changes in mask to url, in order."""
        self._call("POST", self._path(contact) + "/callbacks", data=json.dumps({"url": url, "mask": mask}),
                   headers={"Content-Type": "application/json"})

    def unregister(self, contact: str, url: str) -> None:
        """Stop the pushes to url."""
        self._call("DELETE", self._path(contact) + "/callbacks", data=json.dumps({"url": url}),
                   headers={"Content-Type": "application/json"})

    def events(self, contact: str, after: int = 0, wait: float = 0.0) -> list[dict[str, Any]]:
        """State changes after sequence number `after`, waiting up to `wait` seconds for one."""
        return self._call("GET", self._path(contact) + f"/events?after={after}&wait={wait:g}",
                          timeout=wait + self.timeout)

    def wait(self, contact: str, timeout: float | None = None) -> dict[str, Any]:
        """The job's record once it is DONE or FAILED (or when timeout passes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        after = 0
        while True:
            left = 30.0 if deadline is None else max(0.0, min(30.0, deadline - time.monotonic()))
            got = self.events(contact, after, left)
            if got:
                after = got[-1]["seq"]
                if got[-1]["state"] in ("DONE", "FAILED"):
                    return self.status(contact)
            if deadline is not None and time.monotonic() >= deadline:
                return self.status(contact)

    def output(self, contact: str, name: str = "stdout") -> bytes:
        """The job's stdout or stderr, as the manager keeps it."""
        return self._call("GET", self._path(contact) + f"/{name}")

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()
