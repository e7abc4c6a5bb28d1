"""WS-BaseNotification 1.3: Subscribe on a resource (topics Status and ResourceTermination, Simple dialect),
the subscription manager (Renew, Unsubscribe), pull points (CreatePullPoint, GetMessages, DestroyPullPoint)
for clients that cannot take inbound connections, and the Notifier that pushes Notify with retries.

State changes are recorded as events in the same SQLite transaction as the change; the Notifier (one
thread in the server's master process) turns them into messages, so a notification is sent exactly for
what happened, even when the change was made by a runner process or a restarted server.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lxml import etree

from .. import egress
from . import ns as N
from .envelope import (
    envelope,
    epr,
    now_utc,
    parse_epr,
    parse_xml,
    reference_headers,
    serialize,
    time_element,
    xs_datetime,
)
from .errors import ClientFault, ResourceUnknownFault
from .store import STATUS_TOPIC, TERMINATION_TOPIC, Event, Store, Subscription
from .times import parse_time

if TYPE_CHECKING:
    from .app import Call
    from .context import HandlerContext
    from .model import Operation
    from .store import Resource

log = logging.getLogger("wrapgen.wsrf")

MAX_ATTEMPTS = 6  # push deliveries: 0.5, 1, 2, 4, 8 s apart, then the message is dropped (and logged)


def _ts(t: float | None) -> str:
    return xs_datetime(datetime.fromtimestamp(t if t is not None else time.time(), timezone.utc))


def resource_ns(library: str, function: str) -> str:
    """The namespace of a function's resource properties."""
    return f"urn:wrapgen:{library}:{function}"


def notification_message(ev: Event, sub: Subscription) -> bytes:
    """The wsnt:NotificationMessage for one event and one subscription."""
    tns, rns = f"urn:wrapgen:{ev.library}", resource_ns(ev.library, ev.function)
    msg = etree.Element(N.q(N.WSNT, "NotificationMessage"),
                        nsmap={"wsnt": N.WSNT, "wsa": N.WSA, "r": rns, "wsrf-rp": N.RP, "wsrf-rl": N.RL})
    msg.append(epr(sub.manager, f"{{{tns}}}SubscriptionKey", sub.id, N.q(N.WSNT, "SubscriptionReference")))
    topic = etree.SubElement(msg, N.q(N.WSNT, "Topic"), Dialect=N.SIMPLE_TOPIC_DIALECT)
    if ev.address:
        msg.append(epr(ev.address, f"{{{tns}}}ResourceKey", ev.resource, N.q(N.WSNT, "ProducerReference")))
    body = etree.SubElement(msg, N.q(N.WSNT, "Message"))
    if ev.topic == STATUS_TOPIC:
        topic.text = "r:Status"
        change = etree.SubElement(body, N.q(N.RP, "ResourcePropertyValueChangeNotification"))
        for part, value in (("OldValues", ev.old), ("NewValues", ev.new)):
            holder = etree.SubElement(change, N.q(N.RP, part))
            if value is not None:
                etree.SubElement(holder, N.q(rns, "Status")).text = value
    else:
        topic.text = "wsrf-rl:ResourceTermination"
        tn = etree.SubElement(body, N.q(N.RL, "TerminationNotification"))
        etree.SubElement(tn, N.q(N.RL, "TerminationTime")).text = _ts(ev.time)
        etree.SubElement(tn, N.q(N.RL, "TerminationReason")).text = ev.new or ""
    return etree.tostring(msg)


class Periodic:
    """A daemon thread calling tick() every interval seconds until stop()."""

    name = "periodic"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        """One pass of the work."""
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a locked or damaged database must not end the thread
                log.exception("%s pass failed", self.name)

    def start(self) -> None:
        """Run in a background thread."""
        self._thread = threading.Thread(target=self._loop, name=f"wsrf-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop (after the pass under way)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


class Notifier(Periodic):
    """Turns events into pull-point messages and pushed Notify requests (with retries)."""

    name = "notifier"

    def __init__(self, store: Store, interval: float = 0.1, timeout: float = 5.0,
                 allow: list[str] | None = None, concurrency: int = 16) -> None:
        super().__init__(interval)
        self.store, self.timeout = store, timeout
        self.allow = egress.networks(allow or [])
        self._opener = egress.opener()
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="wsrf-notify")
        self._inflight: set[str] = set()  # subscriptions with a delivery under way (their order is kept)
        self._lock = threading.Lock()

    def stop(self) -> None:
        """Stop (after the pass under way and the deliveries in flight)."""
        super().stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def tick(self) -> None:
        """Dispatch new events, then push what is due."""
        self.dispatch()
        self.deliver()

    def dispatch(self) -> None:
        """Fan new events out to the subscriptions of their resources."""
        for ev in self.store.take_events():
            for sub in self.store.subscriptions_for(ev.resource):
                if sub.topics and ev.topic not in sub.topics:
                    continue
                xml = notification_message(ev, sub)
                if sub.pullpoint:
                    self.store.add_message(sub.pullpoint, xml)
                else:
                    self.store.queue(sub.id, sub.consumer, xml)
            if ev.topic == TERMINATION_TOPIC:
                self.store.drop_subscriptions(ev.resource)

    def deliver(self, wait: bool = False) -> None:
        """POST each due Notify to its consumer, concurrently: a slow consumer holds up only its own
        messages (the store hands out one message per subscription at a time, so each consumer gets its
        messages in order). Failures are retried with backoff. wait: return when these deliveries end."""
        now = time.time()
        futures = []
        for row in self.store.due(now, limit=200):
            sid = row[1]
            with self._lock:
                if sid in self._inflight:
                    continue
                self._inflight.add(sid)
            try:
                futures.append(self._pool.submit(self._deliver_one, now, *row))
            except RuntimeError:  # shutting down
                with self._lock:
                    self._inflight.discard(sid)
                return
        if wait:
            for f in futures:
                f.result()

    def _deliver_one(self, now: float, oid: int, sid: str, consumer: bytes, xml: bytes, attempts: int) -> None:
        try:
            address, params = parse_epr(parse_xml(consumer, "consumer reference"))
            try:
                egress.check(address, self.allow)  # again: the name may resolve elsewhere by now
                headers = reference_headers(params)
                notify = etree.Element(N.q(N.WSNT, "Notify"), nsmap={"wsnt": N.WSNT})
                notify.append(parse_xml(xml, "message"))
                data = serialize(envelope(notify, N.action("Notify"), to=address, extra_headers=headers))
                req = urllib.request.Request(address, data=data, method="POST", headers={
                    "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{N.action("Notify")}"'})
                with self._opener.open(req, timeout=self.timeout) as r:
                    r.read()
                self.store.delivered(oid)
            except egress.EgressRefused as exc:
                log.warning("dropping a notification for %s: %s", address, exc)
                self.store.delivered(oid)
            except (OSError, urllib.error.HTTPError) as exc:
                if attempts + 1 >= MAX_ATTEMPTS:
                    log.warning("dropping a notification for %s after %d attempts: %s", address, attempts + 1, exc)
                    self.store.delivered(oid)
                else:
                    self.store.retry_later(oid, time.time() + 0.5 * 2 ** attempts)
        except Exception:  # a store error: the row stays due and is tried again on a later pass
            log.exception("delivering notification %s failed", oid)
        finally:
            with self._lock:
                self._inflight.discard(sid)


class NotificationHandlers:
    """Subscribe on resources, the subscription manager and pull points of one application."""

    def __init__(self, ctx: HandlerContext) -> None:
        self.ctx = ctx

    # --- on a resource --------------------------------------------------------------------------------
    def subscribe(self, call: Call, op: Operation, res: Resource, body: etree._Element) -> etree._Element:
        """Subscribe{ConsumerReference, Filter?, InitialTerminationTime?} -> SubscribeResponse."""
        model, store = call.model, self.ctx.store
        consumer = body.find(N.q(N.WSNT, "ConsumerReference"))
        if consumer is None:
            raise ClientFault("Subscribe has no ConsumerReference", element=N.q(N.WSNT, "SubscribeCreationFailedFault"))
        address, params = parse_epr(consumer)
        pullpoint = params.get(f"{{{model.tns}}}PullPointKey")
        if pullpoint is not None:
            pp = store.pullpoint(pullpoint)
            if pp is None:
                raise ClientFault(f"the ConsumerReference names pull point {pullpoint!r}, which does not exist",
                                  element=N.q(N.WSNT, "SubscribeCreationFailedFault"))
            self.ctx.check_owner(call, pp[1], "pull point")
        elif not address.startswith(("http://", "https://")):
            raise ClientFault(f"the consumer address {address!r} is not an http(s) URL; use a pull point "
                              "(CreatePullPoint) to receive notifications without an endpoint",
                              element=N.q(N.WSNT, "SubscribeCreationFailedFault"))
        else:
            try:
                egress.check(address, egress.networks(self.ctx.config.notify_allow))
            except egress.EgressRefused as exc:
                raise ClientFault(f"{exc}; a pull point (CreatePullPoint) works from anywhere",
                                  element=N.q(N.WSNT, "SubscribeCreationFailedFault")) from None
        topics = []
        rns = op.namespace
        known = {N.q(rns, "Status"): STATUS_TOPIC, N.q(N.RL, "ResourceTermination"): TERMINATION_TOPIC}
        flt = body.find(N.q(N.WSNT, "Filter"))
        for te in (flt.findall(N.q(N.WSNT, "TopicExpression")) if flt is not None else []):
            dialect = (te.get("Dialect") or "").strip()
            if dialect != N.SIMPLE_TOPIC_DIALECT:
                raise ClientFault(f"topic dialect {dialect!r} is not supported; use {N.SIMPLE_TOPIC_DIALECT}",
                                  element=N.q(N.WSNT, "TopicExpressionDialectUnknownFault"))
            text = (te.text or "").strip()
            prefix, _, local = text.rpartition(":")
            ns = te.nsmap.get(prefix or None)
            qn = f"{{{ns}}}{local}" if ns else local
            if qn not in known:
                raise ClientFault(f"topic {text!r} ({qn}) is not published here; topics: "
                                  f"{{{rns}}}Status, {{{N.RL}}}ResourceTermination",
                                  element=N.q(N.WSNT, "TopicNotSupportedFault"))
            topics.append(known[qn])
        if flt is not None and len(flt) and not topics:
            raise ClientFault("only TopicExpression filters are supported", element=N.q(N.WSNT, "InvalidFilterFault"))
        now = time.time()
        itt = body.find(N.q(N.WSNT, "InitialTerminationTime"))
        termination = None
        if itt is not None and itt.get(N.q(N.XSI, "nil")) not in ("true", "1"):
            termination = parse_time(itt.text or "", now, "UnacceptableInitialTerminationTimeFault")
            if termination <= now:
                raise ClientFault("InitialTerminationTime is in the past",
                                  element=N.q(N.WSNT, "UnacceptableInitialTerminationTimeFault"))
        manager = f"{call.base_url}/{model.name}/subscriptions"
        sid = store.subscribe(res.key, manager, etree.tostring(consumer), pullpoint, topics, termination,
                              owner=call.identity)
        out = etree.Element(N.q(N.WSNT, "SubscribeResponse"), nsmap={"wsnt": N.WSNT})
        out.append(epr(manager, f"{{{model.tns}}}SubscriptionKey", sid, N.q(N.WSNT, "SubscriptionReference")))
        etree.SubElement(out, N.q(N.WSNT, "CurrentTime")).text = _ts(now)
        if termination is not None:
            etree.SubElement(out, N.q(N.WSNT, "TerminationTime")).text = _ts(termination)
        return out

    # --- subscription manager -------------------------------------------------------------------------
    @staticmethod
    def _addressed(call: Call, key: str, what: str, operations: tuple[str, ...]) -> tuple[Any, str, str | None]:
        """(request, body tag, key from the reference parameter) of a request to a WSN endpoint."""
        req = call.request
        assert req is not None
        tag = req.body.tag
        if tag not in [N.q(N.WSNT, o) for o in operations]:
            raise ClientFault(f"unknown operation <{tag}> on a {what}; operations: {', '.join(operations)}")
        return req, tag, req.header(f"{{{call.model.tns}}}{key}")

    def manager(self, call: Call) -> etree._Element:
        """Renew and Unsubscribe, addressed by the SubscriptionKey reference parameter."""
        req, tag, sid = self._addressed(call, "SubscriptionKey", "subscription", ("Renew", "Unsubscribe"))
        sub = self.ctx.store.subscription(sid) if sid else None
        if sub is None:
            raise ResourceUnknownFault(f"no subscription with key {sid!r} (unsubscribed, expired, or its resource "
                                       "was destroyed)")
        self.ctx.check_owner(call, sub.owner, "subscription")
        local = tag.split("}")[1]
        if local == "Unsubscribe":
            self.ctx.store.unsubscribe(sub.id)
            return envelope(etree.Element(N.q(N.WSNT, "UnsubscribeResponse")), N.action("Unsubscribe", True),
                            req.message_id)
        now = time.time()
        tt = req.body.find(N.q(N.WSNT, "TerminationTime"))
        if tt is None:
            raise ClientFault("Renew has no TerminationTime", element=N.q(N.WSNT, "UnacceptableTerminationTimeFault"))
        nil = tt.get(N.q(N.XSI, "nil")) in ("true", "1")
        when = None if nil else parse_time(tt.text or "", now, "UnacceptableTerminationTimeFault")
        if when is not None and when <= now:
            raise ClientFault("the requested TerminationTime is in the past",
                              element=N.q(N.WSNT, "UnacceptableTerminationTimeFault"))
        self.ctx.store.renew(sub.id, when)
        out = etree.Element(N.q(N.WSNT, "RenewResponse"), nsmap={"xsi": N.XSI})
        time_element(out, N.q(N.WSNT, "TerminationTime"), when)
        etree.SubElement(out, N.q(N.WSNT, "CurrentTime")).text = _ts(now)
        return envelope(out, N.action("Renew", True), req.message_id)

    # --- pull points ----------------------------------------------------------------------------------
    def create_pullpoint(self, call: Call) -> etree._Element:
        """CreatePullPoint on the library port: an EPR to collect notifications from."""
        req = call.request
        assert req is not None
        lifetime = self.ctx.config.lifetime
        pid = self.ctx.store.create_pullpoint(call.model.name, time.time() + lifetime if lifetime else None,
                                              owner=call.identity)
        out = etree.Element(N.q(N.WSNT, "CreatePullPointResponse"), nsmap={"wsnt": N.WSNT})
        out.append(epr(f"{call.base_url}/{call.model.name}/pullpoints", f"{{{call.model.tns}}}PullPointKey", pid,
                       N.q(N.WSNT, "PullPoint")))
        return envelope(out, N.action("CreatePullPoint", True), req.message_id)

    def pullpoint(self, call: Call) -> etree._Element:
        """GetMessages and DestroyPullPoint, addressed by the PullPointKey reference parameter."""
        req, tag, pid = self._addressed(call, "PullPointKey", "pull point", ("GetMessages", "DestroyPullPoint"))
        pp = self.ctx.store.pullpoint(pid) if pid else None
        if pp is None:
            raise ResourceUnknownFault(f"no pull point with key {pid!r}")
        self.ctx.check_owner(call, pp[1], "pull point")
        if tag == N.q(N.WSNT, "DestroyPullPoint"):
            self.ctx.store.destroy_pullpoint(pid)
            return envelope(etree.Element(N.q(N.WSNT, "DestroyPullPointResponse")), N.action("DestroyPullPoint", True),
                            req.message_id)
        limit = None
        text = req.body.findtext(N.q(N.WSNT, "MaximumNumber"))
        if text is not None:
            try:
                limit = int(text)
                if limit < 0:
                    raise ValueError
            except ValueError:
                raise ClientFault(f"MaximumNumber {text!r} is not a non-negative integer",
                                  element=N.q(N.WSNT, "UnableToGetMessagesFault")) from None
        out = etree.Element(N.q(N.WSNT, "GetMessagesResponse"), nsmap={"wsnt": N.WSNT})
        for xml in self.ctx.store.take_messages(pid, limit):
            out.append(parse_xml(xml, "message"))
        return envelope(out, N.action("GetMessages", True), req.message_id)


__all__ = ["Notifier", "NotificationHandlers", "Periodic", "notification_message", "now_utc"]
