# test_smtpd_postfix.py - Postfix, a real MTA, relays to smtpd: a private
# Postfix instance (smtpd_postfix.py) takes messages over SMTP and hands
# them to smtpd with its own SMTP client (EHLO, PIPELINING, SIZE=,
# BODY=8BITMIME), once with smtpd as a daemon (-D) and once under
# xinetd. Every message must land in smtpd's spool byte for byte as it
# was submitted, apart from the two Received headers (Postfix's and
# smtpd's) in front of it; the envelope must be Postfix's.
# SPDX-License-Identifier: BSD-2-Clause

import smtplib
import tempfile
import shutil
import time
from pathlib import Path

import pytest

from smtpd_fixtures import Jail, SpoolFile
from smtpd_harness import DaemonHarness, XinetdHarness, free_port
from smtpd_postfix import DOMAIN, Postfix, PostfixError


def message(n, body):
    return (b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            b"From: Sender <sender@example.org>\r\n"
            b"To: Rcpt <rcpt%d@example.net>\r\n"
            b"Message-ID: <msg%d@example.org>\r\n"
            b"Subject: relay test %d\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n" % (n, n, n)) + body


BODIES = [
    b"Hello.\r\n",
    # dot-stuffing, blank lines, 8-bit, a tab (a bare CR is not here:
    # Postfix itself turns it into a blank; test_smtpd_protocol covers it)
    b".leading dot\r\n..two dots\r\n.\r\n\r\n\r\ncaf\xc3\xa9 \xe2\x82\xac\r\n"
    b"tab\there  and two blanks \r\n",
    # long lines (below Postfix's 998) and many of them: about 300 KB
    b"".join(b"%05d " % i + b"x" * 980 + b"\r\n" for i in range(300)),
    # no final line end: SMTP clients add one
    b"no newline at the end",
]


def stored(msg):
    """What the spool must hold after the Received headers."""
    if not msg.endswith(b"\r\n"):
        msg += b"\r\n"
    return msg.replace(b"\r\n", b"\n")


def strip_received(data):
    """data without its leading Received headers; how many there were."""
    lines = data.split(b"\n")
    i = n = 0
    while i < len(lines) and lines[i].startswith(b"Received:"):
        n += 1
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\n".join(lines[i:]), n


@pytest.fixture
def jail():
    j = Jail("allow:ALL:ALL:ALL\n")
    yield j
    j.remove()


@pytest.mark.parametrize("mode", ["daemon", "xinetd"])
def test_postfix_relays_into_the_spool(jail, mode):
    if mode == "daemon":
        server = DaemonHarness(jail, extra=["-H", "-s", "2000000"])
    else:
        server = XinetdHarness(jail, extra=["-H", "-s", "2000000"])
    base = Path(tempfile.mkdtemp(prefix="gk-postfix-"))
    pf = Postfix(base, free_port(), relayhost=f"[127.0.0.1]:{server.port}")
    try:
        try:
            pf.start()
        except PostfixError as e:
            pytest.fail(str(e), pytrace=False)
        sent = {}
        with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as c:
            for i, body in enumerate(BODIES):
                msg = message(i, body)
                rcpts = [f"rcpt{i}@example.net"] + \
                    ([f"other{i}@example.com"] if i % 2 else [])
                c.sendmail(f"sender{i}@example.org", rcpts, msg,
                           mail_options=["BODY=8BITMIME"])
                sent[f"<sender{i}@example.org>"] = (msg, rcpts)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(jail.spooled()) >= len(BODIES) and pf.queue_empty():
                break
            time.sleep(0.1)
        files = [SpoolFile(p) for p in jail.spooled()]
        assert len(files) == len(BODIES), pf.log()
        for f in files:
            msg, rcpts = sent[f["FROM"]]
            # Postfix may reorder the recipients of one transaction
            assert sorted(f.rcpt) == sorted(f"<{r}>" for r in rcpts)
            assert f["HELO"] == f"relay.{DOMAIN}"
            assert f["CLIENT-IP"] == "127.0.0.1"
            assert f["PROTO"] == "ESMTP"
            assert f["BODY-TYPE"] == "8BITMIME"
            rest, n = strip_received(f.message)
            assert n == 1, f.message[:400]      # Postfix's
            assert f.received.startswith(f"Received: from relay.{DOMAIN}")
            assert rest == stored(msg)
        server.wait()
    finally:
        pf.stop()
        assert pf.pid is None
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    logs = server.logs()
    assert logs.count("event=queued") == len(BODIES)
    assert "end=quit" in logs
