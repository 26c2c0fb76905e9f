# test_smtpd_rules.py - smtpd decides each RCPT exactly as rulecheck says.
# The same rules file and the same client contexts go through rulecheck
# and through a real smtpd session (chrooted, inetd mode over a
# socketpair, the client's identity set with SMTPD_PEER_IP,
# SMTPD_PEER_NAME and SMTPD_IDENT, or found by smtpd's own FCrDNS);
# both ask the tests' DNS servers (dnsfixtures.py: unbound, rbldnsd and
# a dead server). The decision line smtpd logs must be the one rulecheck
# prints, and smtpd's reply must be the rule's. A DNS server that stops
# answering gives 4xx replies, never 5xx.
# SPDX-License-Identifier: BSD-2-Clause

import re
import time

import pytest

import dnsfixtures
from smtpd_fixtures import Jail, OneShot

RULES = """# test_smtpd_rules.py
deny:RBL.dnsbl.test:ALL:ALL:554 5.7.1 %I listed (%V)
deny:ALL EXCEPT NS=*.mci.test:*@mci.test:ALL:571 no forged mci email
noto:ALL:ALL@NS=127.0.0.1 ALL@NS=0.0.0.0:ALL:571 NO NS/MX records = 127.0.0.1
noto:UNKNOWN:ALL:*@strict.example.test:550 5.7.1 need a name, %H
noto:ALL:ALL:MX=127.0.0.1 MX=0.0.0.0:571 NO MX records where = 127.0.0.1 %H (%I)
noto:baduser@ALL:ALL:ALL:550 5.7.1 not you, %U
allow:KNOWN:ALL:ALL
noto_delay:ALL:ALL:*@slow.example.test:550 5.7.1 slow down
deny:RBL.deadbl.test:ALL:*@dead.example.test:554 dead
noto:ALL:ALL:*@nowhere.test:550 5.1.1 no such domain
allow:ALL:ALL:ALL
"""

INSIDE = "/etc/smtpd_check_rules"
DNS_OPTS = ["-o", "dns_query_ms=400", "-o", "dns_budget_ms=1200",
            "-o", "noto_delay=1"]

# ip, name (None: smtpd and rulecheck both resolve; text: given), ident,
# from, to
CONTEXTS = [
    ("192.0.2.10", None, None, "<a@example.test>", "<u@example.test>"),
    ("192.0.2.99", None, None, "<a@example.test>", "<u@example.test>"),
    ("192.0.2.77", None, None, "<a@example.test>",
     "<u@strict.example.test>"),
    ("192.0.2.67", None, None, "<joe@mci.test>", "<u@example.test>"),
    ("198.51.100.25", None, None, "<joe@mci.test>", "<u@example.test>"),
    ("203.0.113.5", None, None, "<joe@mci.test>", "<u@example.test>"),
    ("192.0.2.77", None, None, "<joe@loopmx.test>", "<u@example.test>"),
    ("192.0.2.77", "UNKNOWN", None, "<a@example.test>", "<u@zeromx.test>"),
    ("192.0.2.77", "UNKNOWN", "baduser", "<a@example.test>",
     "<u@example.test>"),
    ("192.0.2.77", "UNKNOWN", "gooduser", "<a@example.test>",
     "<u@example.test>"),
    ("192.0.2.77", "good.example.test", None, "<a@example.test>",
     "<u@strict.example.test>"),
    ("2001:db8::10", None, None, "<>", "<u@strict.example.test>"),
    ("2001:db8::66", None, None, "<>", "<u@strict.example.test>"),
    ("192.0.2.77", "UNKNOWN", None, "<a@example.test>",
     "<u@slow.example.test>"),
    ("192.0.2.77", "UNKNOWN", None, "<a@example.test>",
     "<u@dead.example.test>"),
    ("192.0.2.77", "UNKNOWN", None, "<a@example.test>", "<u@nowhere.test>"),
]


@pytest.fixture(scope="module")
def rules_jail():
    j = Jail(RULES)
    yield j
    j.remove()


def smtpd_decide(jail, ip, name, ident, frm, to, servers, extra=()):
    """One session up to RCPT; returns (reply code, reply text, log)."""
    env = {"SMTPD_PEER_IP": ip}
    if name is not None:
        env["SMTPD_PEER_NAME"] = name
    if ident is not None:
        env["SMTPD_IDENT"] = ident
    run = OneShot(jail, extra=list(DNS_OPTS) + list(extra), env=env,
                  servers=servers)
    s = run.s
    assert s.reply()[0] == 220
    assert s.cmd("EHLO rules.example.org")[0] == 250
    assert s.cmd(f"MAIL FROM:{frm}")[0] == 250
    t0 = time.monotonic()
    code, lines = s.cmd(f"RCPT TO:{to}")
    elapsed = time.monotonic() - t0
    # After a deny the 421 follows and the server hangs up.
    try:
        s.cmd("QUIT")
    except (EOFError, OSError):
        pass
    log = run.finish()
    return code, lines[-1], log, elapsed


def test_environment_ident_held_to_the_ident_rule(rules_jail, resolver):
    """SMTPD_IDENT (like TCPREMOTEINFO, the client's own ident answer
    under tcpserver -r) is checked as an ident server's reply is: a
    value with '@' is logged and ignored, and %U is UNKNOWN; an upper-
    case one is taken in lower case."""
    code, reply, log, _ = smtpd_decide(rules_jail, "192.0.2.77", "UNKNOWN",
                                       "BadUser", "<a@example.test>",
                                       "<u@example.test>", resolver)
    assert code == 550 and "not you, baduser" in reply, (code, reply)
    code, reply, log, _ = smtpd_decide(rules_jail, "192.0.2.77", "UNKNOWN",
                                       "baduser@evil", "<a@example.test>",
                                       "<u@example.test>", resolver)
    assert "event=config SMTPD_IDENT is not an ident user" in log, log
    assert code == 250, (code, reply)


def decision_line(log):
    lines = [ln for ln in log.splitlines() if "smtp connection from" in ln]
    assert len(lines) == 1, log
    return re.sub(r"^smtpd\[\d+\]: ", "", lines[0])


@pytest.mark.parametrize("ip, name, ident, frm, to", CONTEXTS)
def test_smtpd_agrees_with_rulecheck(rulecheck, resolver, rules_jail, ip,
                                     name, ident, frm, to):
    extra = ["-T", "400", "-B", "1200"]
    if ident is not None:
        extra += ["-u", ident]
    d = rulecheck(RULES, ip, frm=frm, to=to, name=name,
                  resolve=name is None, extra=extra)
    code, reply, log, elapsed = smtpd_decide(rules_jail, ip, name, ident,
                                             frm, to, resolver)
    want_log = d["log"]
    # rulecheck names the file by its outside path, smtpd by the inside one
    want_log = re.sub(r" of \S+/rules\d+( |$)", f" of {INSIDE}\\1",
                      want_log)
    assert decision_line(log) == want_log, (d, log)
    if d.action == "allow":
        assert code == 250, (d, reply)
    else:
        assert reply == d["reply"], (d, reply)
        if d.action == "tempfail":
            assert reply.startswith("4"), (d, reply)
    if d.action == "noto_delay":
        assert elapsed >= 0.9, elapsed
    if d.action in ("deny", "deny_delay"):
        assert "Forbidden FROM or RCPT" in log and "end=deny" in log


def test_dead_dns_gives_4xx(rules_jail, resolver):
    """All DNS goes to a server that never answers: the client's name
    cannot be confirmed and the DNSBL cannot be asked, so every rule that
    needs DNS defers. The replies are 4xx, never 5xx, and come within the
    configured budget."""
    dead = dnsfixtures.DEAD_IP
    for to in ("<u@example.test>", "<u@strict.example.test>"):
        code, reply, log, elapsed = smtpd_decide(
            rules_jail, "192.0.2.99", None, None, "<a@example.test>", to,
            dead)
        assert 400 <= code < 500, (reply, log)
        assert reply.startswith("451 4.4.3"), reply
        assert "deferred by line" in decision_line(log), log
        assert elapsed < 5, elapsed
        assert "name-lookup=tempfail" in log, log
