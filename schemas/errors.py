"""One root exception for everything hooklog raises on purpose."""

from __future__ import annotations


class HooklogError(Exception):
    """Root of hooklog's errors; messages say what to do about them."""


class ConfigError(HooklogError):
    """The configuration (environment) is unusable."""


class SignatureError(HooklogError):
    """A webhook's signature is missing, malformed or does not match any active secret."""


class DecodeError(HooklogError):
    """A payload is not a webhook we can decode (bad JSON, missing or invalid fields)."""


class UnknownEventError(DecodeError):
    """The event name is not one the provider documents."""


class EnvelopeError(HooklogError):
    """A raw-topic record is not a hooklog envelope."""


class BrokerUnavailableError(HooklogError):
    """Kafka did not answer or acknowledge in time; the caller must retry later."""

    @classmethod
    def unreachable(cls, bootstrap: str, cause: object = None, *, doing: str = "reach Kafka") -> BrokerUnavailableError:
        """The one "cannot reach Kafka" message: what failed, where, why, and what to check."""
        why = f" ({cause!r})" if cause is not None else ""
        return cls(f"cannot {doing} at {bootstrap}{why}; is the broker up (`hooklog kafka start`) "
                   "and KAFKA_BOOTSTRAP_SERVERS right?")


class TimeFormatError(HooklogError, ValueError):
    """A text that should be an ISO 8601 time is not one (a ValueError too, for parsers' callers)."""


class AlertActionError(HooklogError):
    """An operator's action on an alert is malformed (an unknown action, a silence without a
    future end, an id that is no alert id)."""


class NotifyError(HooklogError):
    """A notification sink did not accept a delivery (its answer or the failure says why)."""


class WeakSecretError(ConfigError):
    """A configured token or secret is too short to resist guessing; the message says which
    variable, how long it must be, and how to make one."""
