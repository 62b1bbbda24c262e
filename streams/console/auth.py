"""Console access: log in with an API token, a signed session cookie, CSRF on every form.

The login form takes one of HOOKLOG_API_TOKENS in a POST body (never a URL) and sets an
HttpOnly, SameSite=Strict cookie (Secure behind https) signed by streams/console/session.py.
Every other console page without a valid cookie redirects to the login; every POST must carry
the session's CSRF token (403 otherwise). Logging out ends the session on every worker for good
(logouts.py): a replayed cookie is refused. A wrong login token counts against the client's address
with the API's wrong bearer tokens (streams/api/access.py's `Guesses`): beyond the limit, 429.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from floor.settings import Settings
from schemas.errors import BrokerUnavailableError
from streams.api.access import Guesses, bearer_ok
from streams.console import session as sessions
from streams.console.logouts import Logouts
from streams.console.render import page, redirect

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION = "console.session"
LOGIN = "/console/login"


def _is_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _next_path(raw: str | None) -> str:
    """Only a console path of this site (no scheme, no `//host`): no open redirect."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console/"


class Auth:
    def __init__(self, settings: Settings, guesses: Guesses, logouts: Logouts,
                 clock: Callable[[], float] = time.time) -> None:
        self.tokens, self.guesses, self.logouts = settings.api_token_list, guesses, logouts
        self.key = sessions.session_key(settings.console_secret, self.tokens)
        self.ttl_s, self.clock = settings.console_session_s, clock

    async def current(self, request: web.Request) -> sessions.Session | None:
        """The request's session: signed, unexpired, its token configured, and never logged out on any
        worker (BrokerUnavailableError when that cannot be known)."""
        found = sessions.verify(self.key, request.cookies.get(sessions.COOKIE), self.clock(), self.tokens)
        if found is None or await self.logouts.revoked(found.sid):
            return None
        return found

    def csrf(self, request: web.Request) -> str:
        return sessions.csrf_token(self.key, request[SESSION])

    def required(self, handler: Handler) -> Handler:
        """No valid cookie: to the login (GET) or 403 (POST). POST without its CSRF token: 403."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                found = await self.current(request)
            except BrokerUnavailableError:
                return self._unsure()
            if found is None:
                if request.method != "GET":
                    return page("error.html", 403, title="Forbidden", message="log in first", user=None)
                return redirect(f"{LOGIN}?next={request.path_qs if request.path.startswith('/console/') else ''}")
            request[SESSION] = found
            if request.method == "POST":
                form = await request.post()
                presented = form.get("csrf")
                if not sessions.csrf_ok(self.key, found, presented if isinstance(presented, str) else None):
                    return page("error.html", 403, title="Forbidden",
                                message="this form has no valid CSRF token: reload the page and try again",
                                user=found, csrf=self.csrf(request))
            return await handler(request)

        return guarded

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        if not self.tokens:
            return self._closed()
        return page("login.html", next=_next_path(request.query.get("next")), error=None)

    async def login(self, request: web.Request) -> web.StreamResponse:
        if not self.tokens:
            return self._closed()
        form = await request.post()
        token = form.get("token")
        wanted = _next_path(form.get("next") if isinstance(form.get("next"), str) else None)  # type: ignore[arg-type]
        if not isinstance(token, str) or not bearer_ok(f"Bearer {token.strip()}", self.tokens):
            wait = self.guesses.failed(request)  # the API's wrong tokens and these count together
            if wait is not None:
                return page("login.html", 429, {"Retry-After": wait}, next=wanted,
                            error=f"Too many wrong tokens from this address: try again in {wait} s.")
            return page("login.html", 401, next=wanted, error="That is not one of this deployment's API tokens.")
        value, _ = sessions.issue(self.key, token.strip(), self.clock(), self.ttl_s)
        response = redirect(wanted)
        response.set_cookie(sessions.COOKIE, value, max_age=self.ttl_s, path="/console", httponly=True,
                            samesite="Strict", secure=_is_https(request))
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        """Ends the session on every worker (streams/console/logouts.py), then drops the cookie."""
        ending: sessions.Session = request[SESSION]
        try:
            await self.logouts.log_out(ending.sid, ending.expires)
        except BrokerUnavailableError:
            return page("error.html", 503, {"Retry-After": "5"}, title="Not logged out", user=ending,
                        csrf=self.csrf(request), message="the logout could not be stored in Kafka, so this "
                        "session still works: log out again in a moment")
        response = redirect(LOGIN)
        response.del_cookie(sessions.COOKIE, path="/console")
        return response

    def _unsure(self) -> web.Response:
        return page("error.html", 503, {"Retry-After": "5"}, title="Console unavailable", user=None,
                    message="this worker cannot reach Kafka, so it cannot tell whether your session was logged "
                            "out: retry in a moment")

    def _closed(self) -> web.Response:
        return page("error.html", 503, title="Console closed", user=None,
                    message="set HOOKLOG_API_TOKENS on the worker: the console logs in with one of them")
