"""A secured cluster (SASL_SSL: TLS with the cluster's own CA, SCRAM-SHA-512) end to end: ingest
and the worker reach it with the KAFKA_* settings alone. Wrong credentials or an untrusted
certificate stop them at once with an error that says so, never a silent retry loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import pytest

from floor.settings import Settings
from hooklog.dev.simulate import FINAL_STATE, lifecycle, wait_for_state
from tests.kafka_fixtures import API_TOKEN, SECRET, System, hooklog

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


async def test_ingest_and_the_worker_end_to_end_on_sasl_ssl(
        own_topics: None, run_system: Callable[..., System], secured_settings: dict[str, str]) -> None:
    system = run_system(**secured_settings)
    assert system.settings.kafka_security_protocol == "SASL_SSL"
    plan = lifecycle("onramp", SECRET, start=datetime(2026, 3, 20, tzinfo=UTC))
    await system.send(plan)
    async with aiohttp.ClientSession() as session:
        state = await wait_for_state(session, system.worker_url, plan[0].order_id, FINAL_STATE["onramp"],
                                     token=API_TOKEN, events=len(plan))
    assert state is not None and state["state"] == FINAL_STATE["onramp"], state
    check = hooklog(system.settings, "kafka", "check")
    assert check.returncode == 0 and system.settings.topic("raw") in check.stdout, check.stderr[-2000:]
    assert secured_settings["kafka_sasl_password"] not in system.log_text("ingest") + system.log_text("worker")


@pytest.mark.parametrize("role", ["ingest", "worker"])
@pytest.mark.parametrize(("change", "said"), [
    ({"kafka_sasl_password": "not-the-password"}, "authentication to the Kafka cluster at"),
    ({"kafka_ssl_ca_file": "/etc/ssl/certs/ca-certificates.crt"}, "failed verification: check that KAFKA_SSL_CA_FILE")])
def test_wrong_credentials_or_an_untrusted_certificate_stop_them_saying_so(
        role: str, change: dict[str, str], said: str, make_settings: Callable[..., Settings],
        secured_settings: dict[str, str]) -> None:
    settings = make_settings(**{**secured_settings, **change})
    done = hooklog(settings, role, timeout_s=60)  # a retry loop would be killed here, failing the test
    assert done.returncode == 2, done.stderr[-2000:]
    assert said in done.stderr, done.stderr[-2000:]
    assert "not-the-password" not in done.stderr
