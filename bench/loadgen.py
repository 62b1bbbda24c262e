"""Load generator, always run as a separate process: signed bodies, flat out or at a fixed rate.

    python -m bench.loadgen --url http://127.0.0.1:8080/webhooks/koywe --bodies FILE \
        [--rate 1000] [--duration 10] [--concurrency 64] [--track http://127.0.0.1:6066 --token T]

`FILE` holds one `order_id<TAB>body` per line. Prints one JSON object: accepted/s, errors by
kind, POST latency percentiles and, with `--track`, POST -> visible-in-GET /orders/{id}
percentiles over the sampled events. Fixed-rate latencies count from the *scheduled* send time
(no coordinated omission). `run_wrk` drives the same bodies through wrk (Debian's `wrk`) for
the flat-out HTTP ceiling, where a Python client would be the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HEADERS = {"Content-Type": "application/json"}


def percentiles(values_s: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds (nearest rank)."""
    if not values_s:
        return {}
    ordered = sorted(values_s)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": ordered[-1] * 1000, "n": len(ordered)}


def load_bodies(path: Path) -> list[tuple[str, bytes]]:
    out = []
    for line in path.read_bytes().splitlines():
        oid, _, body = line.partition(b"\t")
        out.append((oid.decode(), body))
    return out


def write_bodies(path: Path, bodies: list[tuple[str, bytes]]) -> Path:
    """The loadgen/wrk input file (bodies are compact JSON: never a raw newline or tab)."""
    path.write_bytes(b"".join(oid.encode() + b"\t" + body + b"\n" for oid, body in bodies))
    return path


async def _visible(session: Any, track: str, order_id: str, delivery_id: str, timeout_s: float,
                   headers: dict[str, str]) -> bool:
    """One `GET /orders/{id}?delivery=<id>&wait=<s>`: the worker answers the moment it has folded
    this delivery (streams/worker/waiters.py), so there is no poll interval to add error or load."""
    params = {"delivery": delivery_id, "wait": f"{timeout_s:g}"}
    async with session.get(f"{track}/orders/{order_id}", params=params, headers=headers) as response:
        await response.read()
        return response.status == 200


async def run(url: str, bodies: list[tuple[str, bytes]], *, duration_s: float, concurrency: int,
              rate: float | None, track: str | None, sample_every: int,
              warmup_s: float, token: str | None = None) -> dict[str, Any]:
    """Flat out (`rate` None: `concurrency` closed loops) or open loop at `rate` per second."""
    import aiohttp
    import orjson

    errors: Counter[str] = Counter()
    post_lat: list[float] = []
    e2e_lat: list[float] = []
    state = {"ok": 0, "sent": 0, "late": 0, "timeouts": 0}
    connector = aiohttp.TCPConnector(limit=concurrency * 2, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    loop = asyncio.get_running_loop()
    auth = {"Authorization": f"Bearer {token}"} if token else {}

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session, \
               aiohttp.ClientSession(timeout=timeout) as tracker:

        async def one(i: int, scheduled: float, counted: bool) -> None:
            oid, body = bodies[i % len(bodies)]
            try:
                async with session.post(url, data=body, headers=HEADERS) as response:
                    answer = await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if counted:
                    errors[type(exc).__name__] += 1
                return
            acked = time.perf_counter()
            if not counted:
                return
            if status != 200:
                errors[f"http_{status}"] += 1
                return
            state["ok"] += 1
            post_lat.append(acked - scheduled)
            if track and i % sample_every == 0:
                if await _visible(tracker, track, oid, orjson.loads(answer)["id"], 10.0, auth):
                    e2e_lat.append(time.perf_counter() - scheduled)
                else:
                    state["timeouts"] += 1

        start = time.perf_counter()
        measure_from, end = start + warmup_s, start + warmup_s + duration_s
        if rate is None:
            counter = iter(range(10**12))

            async def closed_loop() -> None:
                while (now := time.perf_counter()) < end:
                    await one(next(counter), now, now >= measure_from)

            await asyncio.gather(*(closed_loop() for _ in range(concurrency)))
            state["sent"] = next(counter)
        else:
            tasks: set[asyncio.Task[None]] = set()
            i = 0
            while (scheduled := start + i / rate) < end:
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.005:
                    state["late"] += 1
                task = loop.create_task(one(i, scheduled, scheduled >= measure_from))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                i += 1
            state["sent"] = i
            if tasks:
                await asyncio.wait(tasks, timeout=30)
    return {
        "tool": "aiohttp", "mode": "flat-out" if rate is None else "fixed-rate", "rate": rate,
        "duration_s": duration_s, "concurrency": concurrency, "accepted": state["ok"],
        "accepted_per_s": state["ok"] / duration_s, "errors": dict(errors), "sent": state["sent"],
        "late_sends": state["late"], "post_ms": percentiles(post_lat), "e2e_ms": percentiles(e2e_lat),
        "e2e_timeouts": state["timeouts"],
    }


WRK_SCRIPT = """
local bodies = {}
for line in io.lines("%(bodies)s") do
  local tab = line:find("\\t")
  bodies[#bodies + 1] = line:sub(tab + 1)
end
local i = 0
local headers = {["Content-Type"] = "application/json"}
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "%(path)s", headers, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"max":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def _pinned() -> Any:
    """The loadgen's `preexec_fn`: start on its own core(s) (bench/machine.py)."""
    from bench.machine import LOADGEN_CPUS, pin_self_to

    return lambda: pin_self_to(LOADGEN_CPUS)


def run_wrk(url: str, bodies_file: Path, *, duration_s: float, concurrency: int, threads: int | None = None,
            warmup_s: float = 1.0) -> dict[str, Any]:
    """Flat-out POSTs of the same bodies with wrk (C, so the client is not the bottleneck), one
    wrk thread per core it is pinned to."""
    from urllib.parse import urlsplit

    from bench.machine import LOADGEN_CPUS

    threads = threads or (len(LOADGEN_CPUS) if LOADGEN_CPUS else 2)

    parts = urlsplit(url)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"bodies": str(bodies_file), "path": parts.path})
    base = f"{parts.scheme}://{parts.netloc}"
    if warmup_s > 0:
        subprocess.run(["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(warmup_s))}s", "-s",
                        script.name, base], capture_output=True, check=False, timeout=60, preexec_fn=_pinned())
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration_s))}s",
                           "--timeout", "10s", "-s", script.name, base],
                          capture_output=True, text=True, check=False, timeout=duration_s + 60, preexec_fn=_pinned())
    Path(script.name).unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary: {done.stdout[-500:]} {done.stderr[-500:]}")
    raw = json.loads(line.removeprefix("BENCHJSON "))
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    accepted = raw["requests"] - raw["status"]
    return {
        "tool": "wrk", "mode": "flat-out", "duration_s": seconds, "concurrency": concurrency, "threads": threads,
        "accepted": accepted, "accepted_per_s": accepted / seconds,
        "errors": {k: v for k, v in (("non_2xx", raw["status"]), ("socket", socket_errors)) if v},
        "post_ms": {q: raw[q] / 1000 for q in ("p50", "p90", "p99", "max")},
    }


def spawn_loadgen(url: str, bodies_file: Path, *, duration_s: float, concurrency: int,
                  rate: float | None = None, track: str | None = None, sample_every: int = 10,
                  warmup_s: float = 1.0, token: str | None = None) -> subprocess.Popen[str]:
    """Start this module as a child process; read its JSON with `finish_loadgen`."""
    argv = [sys.executable, "-m", "bench.loadgen", "--url", url, "--bodies", str(bodies_file),
            "--duration", str(duration_s), "--concurrency", str(concurrency), "--warmup", str(warmup_s),
            "--sample-every", str(sample_every)]
    if rate is not None:
        argv += ["--rate", str(rate)]
    if track:
        argv += ["--track", track]
    if token:
        argv += ["--token", token]
    from bench.common import REPO

    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_pinned())


def finish_loadgen(proc: subprocess.Popen[str], timeout_s: float) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"loadgen failed ({proc.returncode}): {err[-1000:]}")
    return json.loads(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", required=True, type=Path)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=None, help="requests/s (open loop); default flat out")
    parser.add_argument("--track", default=None, help="worker URL: measure POST -> visible in GET /orders/{id}")
    parser.add_argument("--sample-every", type=int, default=10)
    parser.add_argument("--token", default=None, help="bearer token for the worker's API")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.url, load_bodies(args.bodies), duration_s=args.duration,
                             concurrency=args.concurrency, rate=args.rate, track=args.track,
                             sample_every=max(1, args.sample_every),
                             warmup_s=args.warmup, token=args.token))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
