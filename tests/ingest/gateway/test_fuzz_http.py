"""HTTP fuzz run against a live `hooklog ingest` process on the real broker.

Over 10,000 requests, concurrently: valid Koywe and Kuenta deliveries and replays of them mixed
with malformed, truncated, oversized, nested, unsigned, wrongly-signed and mis-addressed ones,
slow bodies and broken HTTP. Afterwards the process must still be alive, no answer may be a 5xx
other than a deliberate 503 (retried, as a provider would), every 2xx must be in the raw topic
exactly once with the bytes that were sent, and every stored body must verify again with the
real verifier (0 unsigned records). The counts are printed (`pytest -s` shows them).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson
import pytest

from ingest.senders.signatures import sign_hmac_hex, signed_koywe_body, verify_hmac_hex, verify_koywe
from schemas.envelope import decode_envelope
from schemas.errors import SignatureError
from tests.kafka_fixtures import SECRET, System, read_topic

pytestmark = pytest.mark.kafka

KUENTA_SECRET = "fuzz-kuenta-secret"
TOTAL = 10_400
CONCURRENCY = 48
MAX_BODY = 16_384
SEED = 20260320
JSON = {"Content-Type": "application/json"}
DELIBERATE_503 = {"broker_unavailable", "overloaded"}
EVENTS = ["payment_created", "payment_received", "crypto_tx_sent", "crypto_delivered", "fiat_sent",
          "payment_received_modified_order_amount", "verification_started", "payment_teleported"]


@dataclass
class Req:
    kind: str
    expect: frozenset[int]
    body: bytes = b""
    path: str = "/webhooks/koywe"
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    chunked: bool = False


@dataclass
class Tally:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    acked: dict[str, bytes] = field(default_factory=dict)  # envelope id -> body sent
    unexpected: list[tuple[str, int, bytes]] = field(default_factory=list)
    five_xx: int = 0
    retried_503: int = 0
    leaked: int = 0


def koywe_payload(rng: random.Random, n: int) -> dict:
    name = rng.choice(EVENTS)
    doc: dict = {"eventName": name, "orderId": f"fz-{n}", "timeStamp": f"2026-03-20T10:{n % 60:02d}:00.000Z",
                 "note": rng.choice(["", "ñandú 🚀", "\u2028", '"quoted" [x] {y}', "x" * rng.randint(0, 300)])}
    if name == "verification_started":
        doc["email"] = f"user{n}@example.com"
    return doc


def kuenta_body(n: int) -> bytes:
    return orjson.dumps({"event": "credit.disbursed", "data": {"id": f"cr-{n}", "amount": n}, "timestamp": "2026-03-20T10:00:00Z"})


def make_requests(rng: random.Random) -> list[Req]:  # noqa: C901 - one branch per kind of request
    # every bad signature comes from 127.0.0.1: beyond the default failed-signature limit, a 429
    ok, bad, sig = frozenset({200}), frozenset({400}), frozenset({401, 429})
    valid: list[Req] = []
    out: list[Req] = []
    kinds = ["valid", "valid", "valid", "kuenta", "replay", "wrong_secret", "tampered", "unsigned", "bad_signature",
             "kuenta_unsigned", "kuenta_wrong", "truncated", "garbage", "not_object", "deep", "oversized",
             "oversized_chunked", "content_type", "unknown_source", "wrong_method", "random_path", "mutated_signed",
             "empty"]
    for n in range(TOTAL):
        kind = rng.choice(kinds)
        payload = orjson.dumps(koywe_payload(rng, n))
        if kind == "valid":
            req = Req(kind, ok, signed_koywe_body(payload, SECRET))
            valid.append(req)
        elif kind == "kuenta":
            body = kuenta_body(n)
            req = Req(kind, ok, body, "/webhooks/kuenta", headers={**JSON, "X-Signature": sign_hmac_hex(body, KUENTA_SECRET)})
            valid.append(req)
        elif kind == "replay" and valid:
            prior = rng.choice(valid)
            req = Req(kind, ok, prior.body, prior.path, headers=dict(prior.headers))
        elif kind == "wrong_secret":
            req = Req(kind, sig, signed_koywe_body(payload, "not-the-secret"))
        elif kind == "tampered":
            req = Req(kind, sig, signed_koywe_body(payload, SECRET).replace(b'"fz-', b'"fZ-', 1))
        elif kind == "unsigned":
            req = Req(kind, sig, payload)
        elif kind == "bad_signature":
            junk = rng.choice(['"zz"', "1", "null", '"' + "a" * 64 + '"', "[]", '"' + "0" * 63 + '"'])
            req = Req(kind, sig, payload[:-1] + b',"signature":' + junk.encode() + b"}")
        elif kind == "kuenta_unsigned":
            req = Req(kind, sig, kuenta_body(n), "/webhooks/kuenta")
        elif kind == "kuenta_wrong":
            body = kuenta_body(n)
            req = Req(kind, sig, body, "/webhooks/kuenta", headers={**JSON, "X-Signature": sign_hmac_hex(body + b" ", KUENTA_SECRET)})
        elif kind == "truncated":
            body = signed_koywe_body(payload, SECRET)
            req = Req(kind, bad, body[: rng.randrange(0, len(body))])
        elif kind == "garbage":
            req = Req(kind, frozenset({400, 401, 429}), rng.randbytes(rng.randint(1, 400)))
        elif kind == "not_object":
            req = Req(kind, bad, rng.choice([b"[]", b'"x"', b"1", b"null", b"true", b"[{}]", b"1e999"]))
        elif kind == "deep":
            depth = rng.randint(33, 1000)  # signable (orjson parses up to 1024 levels) ...
            deep = b'{"eventName":"payment_created","orderId":"d","x":' + b"[" * depth + b"]" * depth + b"}"
            body = signed_koywe_body(deep, SECRET) if rng.random() < 0.5 else b'{"x":' * 2500 + b"1" + b"}" * 2500
            req = Req(kind, bad, body)  # ... or far deeper, unsigned
        elif kind == "oversized":
            req = Req(kind, frozenset({413}), signed_koywe_body(orjson.dumps({**orjson.loads(payload), "pad": "x" * rng.randint(MAX_BODY, 4 * MAX_BODY)}), SECRET))
        elif kind == "oversized_chunked":
            req = Req(kind, frozenset({413}), b"[" + b"0," * rng.randint(MAX_BODY, 2 * MAX_BODY) + b"0]", chunked=True)
        elif kind == "content_type":
            ctype = rng.choice(["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", "application/xml"])
            req = Req(kind, frozenset({415}), signed_koywe_body(payload, SECRET), headers={"Content-Type": ctype})
        elif kind == "unknown_source":
            req = Req(kind, frozenset({404}), signed_koywe_body(payload, SECRET), rng.choice(["/webhooks/stripe", "/webhooks/%2e%2e", "/webhooks/KOYWE"]))
        elif kind == "wrong_method":
            req = Req(kind, frozenset({405}), b"", method=rng.choice(["GET", "PUT", "DELETE", "PATCH"]))
        elif kind == "random_path":
            req = Req(kind, frozenset({404, 405}), b"{}", rng.choice(["/", "/webhooks", "/webhooks/", "/admin", "/metrics/x", "/../etc/passwd"]))
        elif kind == "mutated_signed":
            doc = orjson.loads(payload)
            doc[rng.choice(["eventName", "orderId", "timeStamp", "email"])] = rng.choice([None, 1, [], {}, "", "x" * 500, True, -1.5])
            req = Req(kind, frozenset({200, 400}), signed_koywe_body(orjson.dumps(doc), SECRET))
        else:  # empty body, or a replay before any valid one
            req = Req("empty", bad, b"")
        out.append(req)
    return out


async def send(session: aiohttp.ClientSession, base: str, req: Req, tally: Tally) -> None:
    for attempt in range(20):
        data: object = req.body
        if req.chunked:
            async def chunks(body: bytes = req.body):  # type: ignore[no-untyped-def]
                for i in range(0, len(body), 4096):
                    yield body[i:i + 4096]
            data = chunks()
        async with session.request(req.method, base + req.path, data=data, headers=req.headers,
                                   skip_auto_headers=["Content-Type"]) as response:
            raw = await response.read()
            status = response.status
        if SECRET.encode() in raw or KUENTA_SECRET.encode() in raw:
            tally.leaked += 1
        answer = orjson.loads(raw) if response.content_type == "application/json" else {}
        if status == 503 and answer.get("error") in DELIBERATE_503 and "Retry-After" in response.headers:
            tally.retried_503 += 1
            await asyncio.sleep(0.05 * (attempt + 1))
            continue
        break
    if status >= 500:
        tally.five_xx += 1
    tally.statuses[(req.kind, status)] += 1
    if status == 200:
        tally.acked[answer["id"]] = req.body
    if status not in req.expect:
        tally.unexpected.append((req.kind, status, raw[:200]))
    elif status == 429 and (answer.get("error") != "failed_signatures_limited" or "Retry-After" not in response.headers):
        tally.unexpected.append((req.kind, status, b"429 without its reason or Retry-After: " + raw[:200]))
    elif status != 200 and set(answer) != {"error", "detail"}:
        tally.unexpected.append((req.kind, status, b"not a JSON error: " + raw[:200]))


async def raw_exchange(port: int, data: bytes) -> int:
    """Send bytes over a bare socket (and nothing more: a stalled body stays stalled); the
    status of the answer, 0 if none came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 30)
        return int(line.split()[1]) if line.startswith(b"HTTP/1.") else 0
    finally:
        writer.close()


def broken_http(rng: random.Random) -> list[tuple[str, bytes, Callable[[int], bool]]]:
    head = b"POST /webhooks/koywe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    client_error: Callable[[int], bool] = lambda status: 400 <= status < 500  # noqa: E731
    cases = [
        ("slow_body", head + b"Content-Length: 500\r\n\r\n{\"eventName\":", lambda status: status == 408),
        ("bad_request_line", b"GARBAGE\r\n\r\n", client_error),
        ("negative_length", head + b"Content-Length: -5\r\n\r\n{}", client_error),
        ("huge_header", head + b"X-Pad: " + b"a" * 20_000 + b"\r\n\r\n", client_error),
        ("bad_chunking", head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", client_error),
        ("length_and_chunked", head + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", client_error),
        ("binary_headers", b"POST /webhooks/koywe HTTP/1.1\r\nHost: \x00\xff\r\n\r\n", client_error),
    ]
    return [rng.choice(cases) for _ in range(160)] + [cases[0]] * 20


async def test_ten_thousand_hostile_and_valid_requests(run_system: Callable[..., System]) -> None:
    system = run_system("ingest", kuenta_secrets=KUENTA_SECRET, max_body_bytes=MAX_BODY, body_timeout_s=1.0,
                        max_json_depth=32)
    rng = random.Random(SEED)
    requests = make_requests(rng)
    tally = Tally()
    queue: asyncio.Queue[Req] = asyncio.Queue()
    for req in requests:
        queue.put_nowait(req)
    started = time.monotonic()

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            await send(session, system.ingest_url, queue.get_nowait(), tally)

    raw_cases = broken_http(rng)
    raw_total = len(raw_cases)
    raw_results: list[tuple[str, int, bool]] = []

    async def raw_worker() -> None:
        while raw_cases:
            name, data, ok = raw_cases.pop()
            status = await raw_exchange(system.settings.ingest_port, data)
            raw_results.append((name, status, ok(status)))

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)), *(raw_worker() for _ in range(16)))
    elapsed = time.monotonic() - started

    alive = system.procs["ingest"].poll() is None
    exit_code = system.stop("ingest", timeout_s=60)
    settings = system.settings
    records = await read_topic(settings.kafka_bootstrap_servers, settings.topic("raw"), timeout_s=60)
    envelopes = [decode_envelope(r.value) for r in records]
    stored = Counter(e.id for e in envelopes)
    unsigned = 0
    for envelope in envelopes:
        try:
            if envelope.source == "koywe":
                verify_koywe(envelope.body, [SECRET])
            else:
                verify_hmac_hex(envelope.body, envelope.headers.get("x-signature"), [KUENTA_SECRET])
        except SignatureError:
            unsigned += 1
    by_id = {e.id: e.body for e in envelopes}
    wrong_bytes = sum(1 for id_, body in tally.acked.items() if by_id.get(id_) != body)
    valid_sent = sum(1 for r in requests if r.kind in {"valid", "kuenta", "replay"})

    raw_status = Counter((name, status) for name, status, _ in raw_results)
    print(f"\nHTTP fuzz: {len(requests)} requests + {raw_total} raw-socket ones in {elapsed:.1f}s "
          f"({(len(requests) + raw_total) / elapsed:.0f}/s), concurrency {CONCURRENCY}, seed {SEED}")
    for (kind, status), count in sorted(tally.statuses.items()):
        print(f"  {kind:<18} {status}  {count}")
    for (name, status), count in sorted(raw_status.items()):
        print(f"  raw:{name:<14} {status}  {count}")
    print(f"  process crashes: {0 if alive else 1}; exit code after SIGTERM: {exit_code}")
    print(f"  5xx answers (after retrying deliberate 503s): {tally.five_xx}; deliberate 503s retried: {tally.retried_503}")
    print(f"  valid deliveries sent: {valid_sent}; acked (2xx): {len(tally.acked)}; stored records: {len(envelopes)}; "
          f"acked but missing: {len(set(tally.acked) - set(stored))}; stored twice: {sum(1 for c in stored.values() if c > 1)}; "
          f"stored but never acked: {len(set(stored) - set(tally.acked))}")
    print(f"  unsigned records in the raw topic: {unsigned}; stored bytes differing from sent: {wrong_bytes}; "
          f"answers leaking a secret: {tally.leaked}; unexpected answers: {len(tally.unexpected)}")

    assert alive and exit_code == 0
    assert tally.five_xx == 0 and tally.leaked == 0
    assert tally.unexpected == []
    assert all(ok for _, _, ok in raw_results), raw_status
    assert sum(tally.statuses[(k, 200)] for k in ("valid", "kuenta", "replay")) == valid_sent  # every valid one acked
    assert set(tally.acked) <= set(stored) and max(stored.values()) == 1  # acked exactly once
    assert len(set(stored) - set(tally.acked)) <= tally.retried_503  # only a timed-out 503 may be stored unacked
    assert unsigned == 0 and wrong_bytes == 0
