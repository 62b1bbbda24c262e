"""docker-compose.yml cannot run here (no Docker engine); keep it parseable and consistent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from floor.settings import Settings
from hooklog.cli.system import WORKER_ID_ENV, WORKER_URL_ENV

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


WORKERS = ("worker-1", "worker-2")
CLUSTER = ("kafka-1", "kafka-2", "kafka-3")
HOOKLOG_SERVICES = ("ingest", *WORKERS)


def test_services_and_ports(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "ingest", *WORKERS, *CLUSTER}
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert "8080:8080" in services["ingest"]["ports"] and services["ingest"]["command"] == ["ingest"]
    assert services["worker-1"]["ports"] == ["6066:6066"] and services["worker-2"]["ports"] == ["6067:6066"]
    for role in HOOKLOG_SERVICES:
        assert services[role]["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert services[role]["command"] == [role.partition("-")[0]]


def test_two_workers_each_with_their_own_identity_url_and_store(compose: dict) -> None:
    services = compose["services"]
    envs = [services[w]["environment"] for w in WORKERS]
    assert [e[WORKER_ID_ENV] for e in envs] == ["w1", "w2"]
    assert [e[WORKER_URL_ENV] for e in envs] == ["http://worker-1:6066", "http://worker-2:6066"]  # service names
    volumes = [services[w]["volumes"] for w in WORKERS]
    assert volumes == [["worker-1-data:/data"], ["worker-2-data:/data"]] and all(e["HOOKLOG_DATA_DIR"] == "/data" for e in envs)
    assert {"worker-1-data", "worker-2-data"} <= set(compose["volumes"])
    for name in ("HOOKLOG_TOPIC_PREFIX", "HOOKLOG_PARTITIONS"):  # one log: every process agrees
        assert len({services[s]["environment"][name] for s in HOOKLOG_SERVICES}) == 1


def test_kafka_is_single_node_kraft_with_rf1_internal_topics(compose: dict) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
                 "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"):
        assert env[name] == "1"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    internal = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    bootstrap = compose["services"]["ingest"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
    assert any(listener.endswith(bootstrap) for listener in internal)


def test_every_hooklog_variable_is_a_real_setting(compose: dict) -> None:
    fields = {f"HOOKLOG_{name.upper()}" for name in Settings.model_fields} | {WORKER_ID_ENV, WORKER_URL_ENV}
    for role in HOOKLOG_SERVICES:
        env = compose["services"][role]["environment"]
        unknown = {k for k in env if k.startswith("HOOKLOG_")} - fields
        assert not unknown, f"{role} sets variables hooklog does not read: {unknown}"
        assert "KAFKA_BOOTSTRAP_SERVERS" in env


def test_the_dockerfile_installs_the_packages_and_runs_the_cli() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("schemas", "projections", "ingest", "streams"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert 'ENTRYPOINT ["hooklog"]' in dockerfile


def test_an_optional_three_node_cluster_like_the_local_one(compose: dict) -> None:
    nodes = [compose["services"][name] for name in CLUSTER]
    assert all(node["profiles"] == ["cluster"] for node in nodes)  # `docker compose up` alone starts one broker
    assert [node["environment"]["KAFKA_NODE_ID"] for node in nodes] == ["1", "2", "3"]
    env = nodes[0]["environment"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false" and env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
    assert [node["ports"] for node in nodes] == [["19192:19192"], ["19193:19193"], ["19194:19194"]]
