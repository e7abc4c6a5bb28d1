"""Notifications on the client side: a Notification as received, a small HTTP endpoint that receives pushed
Notify messages (NotificationConsumer), and a Subscription (renew, unsubscribe, pull messages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from .. import ns as N
from ..errors import WSRFError

if TYPE_CHECKING:
    from .resource import Resource


@dataclass
class Notification:
    """One WS-BaseNotification message about a resource."""

    topic: str  # "Status" or "ResourceTermination"
    status: str | None  # the new Status (Status topic)
    old_status: str | None
    reason: str | None  # why the resource ended (ResourceTermination topic)
    resource_key: str | None
    message: etree._Element  # the whole wsnt:NotificationMessage

    @classmethod
    def from_xml(cls, msg: etree._Element) -> Notification:
        """Read a wsnt:NotificationMessage."""
        topic_el = msg.find(N.q(N.WSNT, "Topic"))
        text = (topic_el.text or "").strip() if topic_el is not None else ""
        topic = text.rpartition(":")[2]
        key = None
        producer = msg.find(N.q(N.WSNT, "ProducerReference"))
        if producer is not None:
            key = next((e.text for e in producer.iter() if isinstance(e.tag, str)
                        and e.tag.endswith("}ResourceKey")), None)
        new = msg.findtext(f".//{{{N.RP}}}NewValues/*")
        old = msg.findtext(f".//{{{N.RP}}}OldValues/*")
        reason = msg.findtext(f".//{{{N.RL}}}TerminationReason")
        return cls(topic, new, old, reason, key, msg)


class NotificationConsumer:
    """A small HTTP endpoint receiving Notify (one-way) and handing each message to a callback."""

    def __init__(self, callback: Callable[[Notification], Any], host: str = "127.0.0.1", port: int = 0) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        consumer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                from ..envelope import parse_xml

                length = int(self.headers.get("Content-Length") or 0)
                try:
                    env = parse_xml(self.rfile.read(min(length, 16 * 1024 * 1024)), "Notify")
                    notify = env.find(f".//{N.q(N.WSNT, 'Notify')}")
                    messages = notify.findall(N.q(N.WSNT, "NotificationMessage")) if notify is not None else []
                except Exception:
                    self.send_response(400)
                    self.end_headers()
                    return
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                for m in messages:
                    try:
                        consumer.callback(Notification.from_xml(m))
                    except Exception:  # the callback's error must not stop later notifications
                        import logging

                        logging.getLogger("wrapgen.wsrf").exception("notification callback failed")

            def log_message(self, *args: Any) -> None:
                pass

        self.callback = callback
        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._thread: Any = None

    @property
    def address(self) -> str:
        """The URL notifications are posted to."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/notify"

    def epr(self) -> etree._Element:
        """This consumer's EndpointReference."""
        from ..envelope import epr

        return epr(self.address)

    def start(self) -> NotificationConsumer:
        """Serve in a daemon thread."""
        import threading

        self._thread = threading.Thread(target=self._httpd.serve_forever, name="wsn-consumer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


class Subscription:
    """A subscription: renew, unsubscribe, and (for a pull subscription) get_messages."""

    def __init__(self, address: str, params: dict[str, str], resource: Resource,
                 consumer: NotificationConsumer | None, pullpoint: etree._Element | None) -> None:
        self.address, self._params, self._resource = address, params, resource
        self.consumer, self._pullpoint = consumer, pullpoint

    @staticmethod
    def _headers(params: dict[str, str]) -> list[etree._Element]:
        from ..envelope import reference_headers

        return reference_headers(params)

    def renew(self, seconds: float | None) -> str | None:
        """A new termination time, seconds from now (None: never); returns it."""
        body = etree.Element(N.q(N.WSNT, "Renew"), nsmap={"xsi": N.XSI})
        tt = etree.SubElement(body, N.q(N.WSNT, "TerminationTime"))
        if seconds is None:
            tt.set(N.q(N.XSI, "nil"), "true")
        else:
            tt.text = f"PT{float(seconds)!r}S"
        resp = self._resource._post_to(self.address, body, N.action("Renew"), self._headers(self._params))
        t = resp.find(N.q(N.WSNT, "TerminationTime"))
        return None if t is None or t.get(N.q(N.XSI, "nil")) in ("true", "1") else t.text

    def get_messages(self, maximum: int | None = None) -> list[Notification]:
        """Collect the notifications waiting in the pull point (oldest first)."""
        if self._pullpoint is None:
            raise WSRFError("this subscription pushes to a callback; get_messages is for pull subscriptions")
        from ..envelope import parse_epr

        address, params = parse_epr(self._pullpoint)
        body = etree.Element(N.q(N.WSNT, "GetMessages"))
        if maximum is not None:
            etree.SubElement(body, N.q(N.WSNT, "MaximumNumber")).text = str(int(maximum))
        resp = self._resource._post_to(address, body, N.action("GetMessages"), self._headers(params))
        return [Notification.from_xml(m) for m in resp.findall(N.q(N.WSNT, "NotificationMessage"))]

    def unsubscribe(self) -> None:
        """End the subscription (and its pull point or local endpoint)."""
        try:
            self._resource._post_to(self.address, etree.Element(N.q(N.WSNT, "Unsubscribe")),
                                    N.action("Unsubscribe"), self._headers(self._params))
        finally:
            self.close()

    def close(self) -> None:
        """Release the local endpoint or the pull point, leaving the server's subscription as it is."""
        if self.consumer is not None:
            self.consumer.stop()
            self.consumer = None
        if self._pullpoint is not None:
            from ..envelope import parse_epr

            address, params = parse_epr(self._pullpoint)
            try:
                self._resource._post_to(address, etree.Element(N.q(N.WSNT, "DestroyPullPoint")),
                                        N.action("DestroyPullPoint"), self._headers(params))
            except WSRFError:
                pass
            self._pullpoint = None

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


