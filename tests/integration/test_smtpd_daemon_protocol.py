# test_smtpd_daemon_protocol.py - the protocol suite (test_smtpd_protocol.py)
# again, every test unchanged, against smtpd's daemon mode (-D:
# smtpd_harness.DaemonHarness): the master holds the banner delay and
# refuses early talkers itself, children serve the sessions. One test is
# left out because daemon mode is meant to differ: with a broken rules
# file a daemon refuses to start (test_smtpd_daemon.py checks that)
# instead of deferring every recipient.
# SPDX-License-Identifier: BSD-2-Clause

import pytest

import test_smtpd_protocol as base
from smtpd_harness import DaemonHarness
from test_smtpd_protocol import *  # noqa: F401,F403 - the tests, fixtures

del test_broken_rules_fail_closed  # noqa: F821 - see above


@pytest.fixture(autouse=True)
def _as_daemon(monkeypatch):
    monkeypatch.setattr(base, "InetdHarness", DaemonHarness)
