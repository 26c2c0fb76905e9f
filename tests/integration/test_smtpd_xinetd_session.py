# test_smtpd_xinetd_session.py - the privilege-drop check of
# test_smtpd_priv.py and the ident suite of test_smtpd_ident.py again,
# unchanged, with smtpd started by a real xinetd (smtpd_harness).
# SPDX-License-Identifier: BSD-2-Clause

import pytest

import test_smtpd_ident as ident
import test_smtpd_priv as priv
from smtpd_harness import XinetdHarness
from test_smtpd_ident import (IdentServer, test_ident_asked_once_and_used,  # noqa: F401
                              test_ident_off_never_asks,
                              test_silent_ident_costs_the_deadline_once)
from test_smtpd_priv import test_dropped_while_session_open  # noqa: F401
from smtpd_fixtures import Jail

# Both modules' jails are the same except for the rules; ident's rules
# work for the privilege test too.
RULES = ident.RULES


@pytest.fixture
def jail():
    j = Jail(RULES)
    yield j
    j.remove()


@pytest.fixture(autouse=True)
def _under_xinetd(monkeypatch):
    monkeypatch.setattr(ident, "InetdHarness", XinetdHarness)
    monkeypatch.setattr(priv, "InetdHarness", XinetdHarness)
