"""HTTPS for hooklog's HTTP servers (ingest and the worker's API): TLS 1.2+ only, and a
renewed certificate served without a restart; and the client context a worker forwards with.

`server_tls(settings)` gives a `CertificateReloader` (or None without HOOKLOG_TLS_CERT_FILE /
_KEY_FILE). Its `context` goes to the server once (`web.TCPSite(..., ssl_context=...)`, or
Faust's `web_ssl_context`). It never changes itself: each new connection is handed, during its
handshake (the SNI callback, which OpenSSL calls for every ClientHello), the context of the
newest certificate that loaded cleanly. A reload builds a whole new context from the files; if
they do not load (half-written, key and certificate from different pairs), the error is logged
and the certificate in service stays. Open connections keep the certificate they started with.

Reloads happen on `reload()`: on SIGHUP and whenever a check every HOOKLOG_TLS_RELOAD_S
seconds sees either file changed (`CertificateReloader.watch`, started by `start()`). Each
process reloads for itself, so `ingest --processes N` passes SIGHUP on to its children.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import os
import signal
import ssl
from collections.abc import Callable
from pathlib import Path

from floor.logs import get_logger
from floor.settings import Settings
from schemas.errors import ConfigError

log = get_logger("tls")
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2
Stamp = tuple[tuple[int, int, int], ...]  # (inode, size, mtime_ns) of each file


def _context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context for this pair, TLS 1.2 at least (ssl.SSLError / OSError if it does not load)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    context.load_cert_chain(cert_file, key_file)
    return context


def _stamp(*paths: Path) -> Stamp | None:
    try:
        return tuple((st.st_ino, st.st_size, st.st_mtime_ns) for st in (os.stat(p) for p in paths))
    except OSError:
        return None


def fingerprint(cert_file: Path) -> str:
    """SHA-256 of the first certificate in a PEM file (what a client sees), as hex."""
    der = ssl.PEM_cert_to_DER_cert(cert_file.read_text())
    return hashlib.sha256(der).hexdigest()


class CertificateReloader:
    """The server's TLS context, whose certificate can be renewed in place (see the module doc)."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.cert_file, self.key_file = Path(cert_file), Path(key_file)
        try:
            self._current = _context(self.cert_file, self.key_file)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"HOOKLOG_TLS_CERT_FILE={self.cert_file} / HOOKLOG_TLS_KEY_FILE={self.key_file} "
                              f"cannot be loaded ({exc}); they must be a PEM certificate chain and its "
                              "private key") from None
        self._stamp = _stamp(self.cert_file, self.key_file)
        self.fingerprint = fingerprint(self.cert_file)
        # The listener's own context: the same floor (the version is negotiated before the swap)
        # and the same certificate (for a handshake that never reaches the callback).
        self.context = _context(self.cert_file, self.key_file)
        self.context.sni_callback = self._hand_over
        self._tasks: list[asyncio.Task[None]] = []

    def _hand_over(self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None,
                   context: ssl.SSLContext) -> None:
        connection.context = self._current

    def reload(self) -> bool:
        """Load the files again; True if the new certificate is now served to new connections."""
        stamp = _stamp(self.cert_file, self.key_file)
        try:
            fresh, served = _context(self.cert_file, self.key_file), fingerprint(self.cert_file)
        except (ssl.SSLError, OSError, ValueError) as exc:
            log.error("TLS certificate not reloaded; still serving the previous one", cert_file=str(self.cert_file),
                      key_file=str(self.key_file), reason=str(exc))
            self._stamp = stamp  # retried when the files change again (or on SIGHUP)
            return False
        self._current, self._stamp = fresh, stamp
        if served != self.fingerprint:
            log.info("TLS certificate reloaded", cert_file=str(self.cert_file), sha256=served)
        self.fingerprint = served
        return True

    def reload_if_changed(self) -> bool:
        """`reload()` if either file's inode, size or mtime changed since the last load."""
        if _stamp(self.cert_file, self.key_file) == self._stamp:
            return False
        return self.reload()

    async def watch(self, interval_s: float) -> None:
        """Check the files every `interval_s` seconds, for ever (cancel to stop)."""
        while True:
            await asyncio.sleep(interval_s)
            self.reload_if_changed()

    def start(self, interval_s: float, *, sighup: bool = True) -> Callable[[], None]:
        """In the running loop: reload on SIGHUP (if `sighup`) and check the files every
        `interval_s` seconds (0: no checks). Returns the function that undoes both."""
        loop = asyncio.get_running_loop()
        if sighup:
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        if interval_s > 0:
            self._tasks.append(loop.create_task(self.watch(interval_s)))

        def stop() -> None:
            if sighup:
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(signal.SIGHUP)
            for task in self._tasks:
                task.cancel()
            self._tasks.clear()

        return stop


def server_tls(settings: Settings) -> CertificateReloader | None:
    """The TLS of a hooklog HTTP server: None for plain HTTP (neither file set), else the
    reloader of HOOKLOG_TLS_CERT_FILE / HOOKLOG_TLS_KEY_FILE (ConfigError if they do not load)."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    return CertificateReloader(settings.tls_cert_file, settings.tls_key_file)


def peer_context(settings: Settings) -> ssl.SSLContext:
    """The client context of worker-to-worker forwarding: peers' certificates verified (host name
    included) against HOOKLOG_TLS_CA_FILE, or the system's trust store when it is unset."""
    try:
        context = ssl.create_default_context(cafile=settings.tls_ca_file)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"HOOKLOG_TLS_CA_FILE={settings.tls_ca_file} cannot be loaded ({exc}); it must be "
                          "a PEM file of the CA certificates (or the certificate) peer workers present") from None
    context.minimum_version = MINIMUM_VERSION
    return context


def is_loopback(host: str) -> bool:
    """Whether a listen address is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name, or "" / "0.0.0.0" style wildcards: assume reachable


def plain_http_warning(host: str, tls: CertificateReloader | None) -> str | None:
    """The warning to log when a server bound beyond loopback speaks plain HTTP."""
    if tls is not None or is_loopback(host):
        return None
    return (f"serving plain HTTP on {host or 'every address'}: webhooks and their signatures cross the network "
            "in clear text; set HOOKLOG_TLS_CERT_FILE and HOOKLOG_TLS_KEY_FILE, or terminate TLS at a load "
            "balancer in front (docs/security.md)")
