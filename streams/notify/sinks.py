"""Each sink's protocol: what one delivery of lifecycle changes looks like on the wire, and what
counts as accepted (a 2xx; anything else, a timeout or a refused connection is a NotifyError the
notifier retries).

- webhook: one POST per change, signed the Standard Webhooks way (https://www.standardwebhooks.com):
  `webhook-id` is the change's id (stable forever, so receivers deduplicate a resend),
  `webhook-timestamp` the sending time in seconds, `webhook-signature` `v1,<base64 HMAC-SHA256
  of "<id>.<timestamp>.<body>">` keyed by the secret's base64 bytes after `whsec_`.
- alertmanager: Alertmanager's `POST /api/v2/alerts`, labels alertname/severity/source/
  aggregate_id/alert_id; while open `endsAt` lies 4 re-send intervals ahead (what Prometheus
  does), so an alert stays firing only while it is re-sent; resolved: `endsAt` is the resolve time.
- slack: an incoming-webhook message (`text` plus one `section` block per change, up to
  `SLACK_BATCH` changes a message).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import aiohttp
import orjson

from schemas.alerts import severity_of
from schemas.errors import NotifyError
from schemas.lifecycle import AlertLifecycle, AlertStatus, LifecycleChange
from schemas.notify import AlertmanagerSink, Sink, SlackSink, WebhookSink, key_bytes
from floor.settings import Settings

SLACK_BATCH = 20  # changes in one Slack message (Slack's own limit is 50 blocks)
ALERTMANAGER_PATH = "/api/v2/alerts"


class Notice(NamedTuple):
    """One change to deliver, with the lifecycle state it leads to (the alert's facts)."""

    lifecycle: AlertLifecycle
    change: LifecycleChange

    @property
    def alert_type(self) -> str:
        return self.lifecycle.alert.type if self.lifecycle.alert else "unknown"


class RetryAfter(NotifyError):
    """The sink asked to wait (429 + Retry-After): the next attempt waits at least that long."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event_body(notice: Notice) -> bytes:
    """The webhook payload: Standard Webhooks' `{type, timestamp, data}` shape."""
    change, alert = notice.change, notice.lifecycle.alert
    data = {"change": change.model_dump(mode="json"),
            "alert": alert.model_dump(mode="json") if alert else None,
            "severity": severity_of(notice.alert_type)}
    return orjson.dumps({"type": f"alert.{change.status.value}", "timestamp": _iso(change.at), "data": data})


def sign(secret_key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret_key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_request(sink: WebhookSink, notice: Notice, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = event_body(notice)
    timestamp = int(now.timestamp())
    return body, {"content-type": "application/json", "webhook-id": notice.change.id,
                  "webhook-timestamp": str(timestamp),
                  "webhook-signature": sign(key_bytes(sink.secret), notice.change.id, timestamp, body)}


def alertmanager_alert(lifecycle: AlertLifecycle, now: datetime, resend_s: float) -> dict[str, Any]:
    """One alert in Alertmanager's v2 shape, as of `now`."""
    alert = lifecycle.alert
    assert alert is not None  # only lifecycles with their alert are notified
    status = lifecycle.status_at(now)
    if status is AlertStatus.RESOLVED:
        ends = max(lifecycle.updatedAt or now, alert.occurredAt)
    elif status is AlertStatus.SILENCED:
        ends = max(now, alert.occurredAt)  # ended while silenced in hooklog; re-sent once the silence is over
    else:
        ends = now + timedelta(seconds=4 * resend_s)
    annotations = {"summary": f"{alert.type} on {alert.source} {alert.aggregateId}",
                   "hooklog_status": status.value, "event_id": alert.eventId}
    if status is AlertStatus.SILENCED and lifecycle.silencedUntil:
        annotations["silenced_until"] = _iso(lifecycle.silencedUntil)
    if lifecycle.changes and status is not AlertStatus.OPEN:
        annotations["by"] = lifecycle.changes[-1].by
    return {"labels": {"alertname": alert.type, "severity": severity_of(alert.type), "source": alert.source,
                       "aggregate_id": alert.aggregateId, "alert_id": alert.id},
            "annotations": annotations, "startsAt": _iso(alert.occurredAt), "endsAt": _iso(ends)}


_ICON = {AlertStatus.OPEN: ":rotating_light:", AlertStatus.ACKNOWLEDGED: ":eyes:",
         AlertStatus.SILENCED: ":zipper_mouth_face:", AlertStatus.RESOLVED: ":white_check_mark:"}


def slack_line(notice: Notice) -> str:
    change, alert = notice.change, notice.lifecycle.alert
    assert alert is not None
    line = (f"{_ICON[change.status]} *{alert.type}* ({severity_of(alert.type)}) {change.status.value}: "
            f"{alert.source} `{alert.aggregateId}`")
    if change.status is not AlertStatus.OPEN:
        line += f" by {change.by}"
    if change.until is not None:
        line += f" until {_iso(change.until)}"
    return line + (f" ({change.reason})" if change.reason else "")


def slack_message(notices: Sequence[Notice]) -> bytes:
    lines = [slack_line(n) for n in notices]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": line}} for line in lines]
    return orjson.dumps({"text": "\n".join(lines), "blocks": blocks})


class Sender:
    """Delivers batches of notices to one sink over one HTTP session; raises NotifyError."""

    def __init__(self, sink: Sink, settings: Settings, session: aiohttp.ClientSession,
                 clock: Callable[[], datetime]) -> None:
        self.sink, self.settings, self.session, self.clock = sink, settings, session, clock
        self.url = sink.url
        if isinstance(sink, AlertmanagerSink) and not self.url.rstrip("/").endswith(ALERTMANAGER_PATH):
            self.url = self.url.rstrip("/") + ALERTMANAGER_PATH

    def batches(self, notices: Sequence[Notice]) -> list[list[Notice]]:
        """One request per change, Slack's messages up to SLACK_BATCH changes each."""
        size = SLACK_BATCH if isinstance(self.sink, SlackSink) else 1
        return [list(notices[i:i + size]) for i in range(0, len(notices), size)]

    def request(self, notices: Sequence[Notice]) -> tuple[bytes, dict[str, str]]:
        sink, now = self.sink, self.clock()
        if isinstance(sink, WebhookSink):
            return webhook_request(sink, notices[0], now)
        if isinstance(sink, AlertmanagerSink):
            return self.alertmanager_body([n.lifecycle for n in notices]), {"content-type": "application/json"}
        return slack_message(notices), {"content-type": "application/json"}

    def alertmanager_body(self, lifecycles: Sequence[AlertLifecycle]) -> bytes:
        now = self.clock()
        return orjson.dumps([alertmanager_alert(lc, now, self.settings.notify_alertmanager_resend_s) for lc in lifecycles])

    async def post(self, body: bytes, headers: dict[str, str]) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.notify_timeout_s)
        try:
            async with self.session.post(self.url, data=body, headers=headers, timeout=timeout) as response:
                text = (await response.read())[:200].decode(errors="replace")
                if response.status == 429:
                    raise RetryAfter(f"{self.sink.label}: 429 {text}", _seconds(response.headers.get("Retry-After")))
                if not 200 <= response.status < 300:
                    raise NotifyError(f"{self.sink.label}: HTTP {response.status} {text}".strip())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise NotifyError(f"{self.sink.label}: {type(exc).__name__}: {exc or 'no answer'}") from exc

    async def send(self, notices: Sequence[Notice]) -> None:
        await self.post(*self.request(notices))


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 1.0
    except ValueError:
        return 1.0
