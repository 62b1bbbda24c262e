"""Profiles of the hot paths: py-spy on a child process, pyinstrument in-process; text under results/.

py-spy samples a running `hooklog ingest` / `hooklog worker` without touching its code
(`--nonblocking`, so the process is never paused); the collapsed stacks are summarised as
self time by package, self time by function and inclusive time by function.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS_DIR

_LINE = re.compile(r"\s*\((.*?):\d+\)$")
_SITE = re.compile(r"(?:site|dist)-packages/([^/]+)")
#: Frames every sample of a thread passes through (entry points, the event loop's dispatch):
#: left out of the inclusive listing, where they would only crowd out the informative frames.
_PLUMBING = ("<frozen runpy>", "_click/", "typer/", "run_forever", "run_until_complete", "_run_once",
             "Handle._run", "hooklog/cli/", "run_app", "(threading.py)", "mode/", "execute_from_commandline")


def pyspy_path() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start_pyspy(pid: int, duration_s: float, out: Path, rate: int = 97) -> subprocess.Popen[bytes] | None:
    """Record `pid` for `duration_s` into collapsed stacks at `out`; None when py-spy is absent."""
    exe = pyspy_path()
    if exe is None:
        return None
    return subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--duration", str(max(1, round(duration_s))), "--rate", str(rate),
         "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _function(frame: str) -> str:
    """`name (path:line)` -> `name (short path)`."""
    match = _LINE.search(frame)
    if not match:
        return frame.strip()
    path = match.group(1)
    site = _SITE.search(path)
    short = path[site.start(1):] if site else "/".join(Path(path).parts[-2:])
    return f"{frame[:match.start()].strip()} ({short})"


def _package(frame: str) -> str:
    match = _LINE.search(frame)
    path = match.group(1) if match else ""
    site = _SITE.search(path)
    if site:
        return site.group(1).split(".")[0].removesuffix(".py")
    if "/work/" in path or path.startswith(("ingest", "streams", "schemas", "projections", "bench")):
        parts = Path(path).parts
        for name in ("ingest", "streams", "schemas", "projections", "bench"):
            if name in parts:
                return f"hooklog/{name}"
    if "python3" in path or "<frozen" in path:
        lib = Path(path).stem
        return f"stdlib/{lib}"
    return path or "?"


def summarize_collapsed(path: Path, title: str, duration_s: float, rate: int = 97, top: int = 25) -> str:
    """Text summary of py-spy's collapsed stacks."""
    selfs: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    roots: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        roots[_function(frames[0])] += count
        selfs[_function(frames[-1])] += count
        packages[_package(frames[-1])] += count
        for name in {_function(f) for f in frames}:
            if not any(p in name for p in _PLUMBING):
                inclusive[name] += count
    expected = duration_s * rate
    out = [f"# {title}", f"# py-spy {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}: {total} samples at {rate} Hz over a "
           f"{duration_s:.0f} s window: Python was running ~{100 * total / expected if expected else 0:.0f}% of it "
           "(less if the process ended inside the window)", "# percentages below are of the samples", ""]

    def block(name: str, counter: Counter[str]) -> None:
        out.append(f"## {name}")
        for key, count in counter.most_common(top):
            out.append(f"{100 * count / max(total, 1):6.1f}%  {key}")
        out.append("")

    block("samples by stack root (one per thread kind)", roots)
    block("self time by package (leaf frame)", packages)
    block("self time by function", selfs)
    block("inclusive time by function (entry points and loop dispatch left out)", inclusive)
    return "\n".join(out)


def relative(path: Path) -> str:
    """A results path as the repo sees it (results are committed; absolute paths are not)."""
    from bench.common import REPO

    return str(path.resolve().relative_to(REPO)) if path.resolve().is_relative_to(REPO) else str(path)


def save_profile(name: str, text: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"profile-{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.txt"
    path.write_text(text)
    return path


def finish_pyspy(proc: subprocess.Popen[bytes] | None, out: Path, name: str, title: str,
                 duration_s: float, timeout_s: float = 60) -> str | None:
    """Wait for py-spy, summarise, save; returns the saved path (None if no profile)."""
    if proc is None:
        return None
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None
    if not out.exists():
        return f"py-spy failed: {err.decode(errors='replace')[-300:]}"
    return relative(save_profile(name, summarize_collapsed(out, title, duration_s)))
