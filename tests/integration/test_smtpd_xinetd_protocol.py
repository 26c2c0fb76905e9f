# test_smtpd_xinetd_protocol.py - the protocol suite (test_smtpd_protocol.py)
# again, every test unchanged, with smtpd started by a real xinetd for each
# connection (inetd mode; smtpd_harness.XinetdHarness) instead of the
# Python accept-and-exec harness. Log lines come through syslog.
# SPDX-License-Identifier: BSD-2-Clause

import pytest

import test_smtpd_protocol as base
from smtpd_harness import XinetdHarness
from test_smtpd_protocol import *  # noqa: F401,F403 - the tests, fixtures


@pytest.fixture(autouse=True)
def _under_xinetd(monkeypatch):
    monkeypatch.setattr(base, "InetdHarness", XinetdHarness)
