"""The `test_seed` fixture: settable, printed at the start and in the failure report."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit
pytest_plugins = ["pytester"]

INNER = """
import random

def test_draws(test_seed):
    assert random.Random(test_seed).random() < 0  # always fails: shows the report
"""

QUIET = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def test_a_given_seed_is_used_printed_and_reported(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeconftest("pytest_plugins = ['tests.conftest']")
    pytester.makepyfile(INNER)
    monkeypatch.setenv("HOOKLOG_TEST_SEED", "4242")
    result = pytester.runpytest_inprocess(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_draws: seed 4242 (replay with HOOKLOG_TEST_SEED=4242 or --seed 4242)*",
                                 "*seed 4242: replay with HOOKLOG_TEST_SEED=4242*"])
    by_option = pytester.runpytest_inprocess(*QUIET, "--seed", "7")
    by_option.stdout.fnmatch_lines(["*test_draws: seed 7 *"])
