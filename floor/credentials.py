"""How long the worker's credentials must be: checked once at start, before anything connects.

A token anyone may present over the network (the query API's bearer tokens, the console's login,
which takes one of them, Koywe's authentication callback's tokens) or that stands in for one (HOOKLOG_PEER_SECRET, HOOKLOG_CONSOLE_SECRET,
the console cookies' key) must be long enough that guessing it is hopeless even at the failed-token
limit (floor/ratelimit.py): 16 characters or more. A shorter one stops the start with a
WeakSecretError naming the variable and which of its entries (never the value).
"""

from __future__ import annotations

from pydantic import SecretStr

from floor.settings import Settings
from schemas.errors import WeakSecretError

MIN_SECRET_CHARS = 16
HOW_TO_MAKE_ONE = "make one with `openssl rand -hex 32`"


def too_short(variable: str, values: tuple[SecretStr, ...]) -> str | None:
    """What is wrong with `variable`'s entries (comma-separated for rotation), or None."""
    short = [n for n, value in enumerate(values, 1) if len(value.get_secret_value()) < MIN_SECRET_CHARS]
    if not short:
        return None
    if len(values) == 1:
        which = "it is"
    else:
        which = f"{'entry' if len(short) == 1 else 'entries'} {', '.join(map(str, short))} of {len(values)} " \
                f"{'is' if len(short) == 1 else 'are'}"
    return f"{variable}: {which} shorter than {MIN_SECRET_CHARS} characters"


def check_secret_lengths(settings: Settings) -> None:
    """WeakSecretError unless every API token and Koywe callback token, the console secret and the peer secret that is set
    (an empty one is unset, as their users read it) has at least MIN_SECRET_CHARS characters."""
    single = {"HOOKLOG_CONSOLE_SECRET": settings.console_secret, "HOOKLOG_PEER_SECRET": settings.peer_secret}
    problems = [problem for problem in (
        too_short("HOOKLOG_API_TOKENS", settings.api_token_list),
        too_short("HOOKLOG_KOYWE_AUTH_TOKENS", settings.koywe_auth_token_list),
        *(too_short(name, (value,)) for name, value in single.items() if value is not None and value.get_secret_value()),
    ) if problem]
    if problems:
        raise WeakSecretError(f"{'; '.join(problems)}. Tokens and secrets must be at least {MIN_SECRET_CHARS} "
                              f"characters, so they cannot be guessed: {HOW_TO_MAKE_ONE} (the API's tokens are "
                              "also the console's login)")
