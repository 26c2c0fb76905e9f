# test_smtpfwdd_e2e.py - the whole product: a message sent with smtplib
# to smtpd (the real binary, inetd mode, chrooted in a jail made by
# scripts/jail-setup) is spooled, picked up by smtpfwdd at once and
# delivered through a REAL Postfix sendmail into a mailbox, body byte for
# byte; 100 messages to 3 recipients each all arrive exactly once; and
# the same through the Maildir target.
# SPDX-License-Identifier: BSD-2-Clause

import collections
import re
import smtplib

import pytest

from fwdfixtures import FwdEnv
from fwdpostfix import start_instance, stop_instance
from fwdspool import parse_maildir, spool_files, wait_logged, wait_until
from smtpd_fixtures import (TEST_FWD, TEST_GROUP, InetdHarness, Jail,
                            ensure_account)

MAILBOXES = ["r1", "a", "b", "c"]


@pytest.fixture(scope="module")
def postfix():
    ensure_account(TEST_FWD, TEST_GROUP)
    pf = start_instance(TEST_GROUP, MAILBOXES)
    yield pf
    stop_instance(pf)


class Product:
    """smtpd behind a loopback port, smtpfwdd on the jail's spool."""

    def __init__(self, scratch, fwd_args):
        self.jail = Jail()
        # smtpfwdd is not chrooted: it reaches the spool from outside.
        self.jail.base.chmod(0o755)
        self.smtpd = InetdHarness(self.jail, extra=["-H"])
        self.fwd = FwdEnv(scratch, user=TEST_FWD, group=TEST_GROUP)
        self.fwd.spool = self.jail.path / "spool"
        self.daemon = self.fwd.start(self.fwd.user_args() + fwd_args)

    def send(self, msgs):
        """msgs: [(from, [rcpt], bytes with CRLF)], on one connection."""
        with smtplib.SMTP("127.0.0.1", self.smtpd.port, timeout=30) as s:
            for frm, rcpts, data in msgs:
                refused = s.sendmail(frm, rcpts, data)
                assert not refused

    def spool_empty(self):
        sp = self.fwd.spool
        return not spool_files(sp, "new") and not spool_files(sp, "work")

    def close(self):
        try:
            rc = self.daemon.stop()
        finally:
            self.smtpd.stop()
            self.fwd.close()
            self.jail.remove()
        assert rc == 0


@pytest.fixture
def product_postfix(scratch, postfix):
    p = Product(scratch, postfix.sendmail_args() + ["-M", "10"])
    yield p
    p.close()


@pytest.fixture
def product_maildir(scratch):
    p = Product(scratch, ["-m", str(scratch / "Maildir")])
    yield p
    p.close()


def wire(text):
    """A message as a client sends it: CRLF line ends."""
    return text.replace(b"\n", b"\r\n")


BODY = (b"Hello Bob,\n"
        b".a line starting with a dot (smtplib stuffs it, smtpd unstuffs)\n"
        b"..two dots\n"
        b"\n"
        b"8-bit: \xc3\xa9t\xc3\xa9 \xff\n"
        b"trailing blanks   \n"
        b"\ttab first\n"
        b"From here on\n"
        + b"y" * 1800 + b"\n"
        b"-- \n"
        b"Alice\n")


def message(n, rcpts, body=BODY):
    return (b"From: Alice <alice@example.org>\n"
            b"To: " + b", ".join(r.encode() for r in rcpts) + b"\n"
            b"Date: Sat, 23 Nov 2026 15:33:00 +0000\n"
            b"Message-ID: <e2e-%d@example.org>\n"
            b"Subject: test %d\n"
            b"\n" % (n, n) + body)


def split(delivered):
    """(Postfix's and smtpd's headers + the original headers, body)."""
    head, _, body = delivered.partition(b"\n\n")
    return head, body


def test_smtplib_to_postfix_mailbox(product_postfix, postfix):
    p = product_postfix
    msg = message(1, ["r1@test.example"])
    p.send([("alice@example.org", ["r1@test.example"], wire(msg))])
    got = wait_until(lambda: [m for m in postfix.mailbox("r1")
                              if b"<e2e-1@example.org>" in m], timeout=20,
                     what="delivery into the Postfix mailbox",
                     log=lambda: p.fwd.log() + postfix.log())
    assert len(got) == 1
    head, body = split(got[0])
    assert body == BODY                           # byte for byte
    # smtpd's Received header, then the message's own, in order.
    assert re.search(rb"\nReceived: from [^\n]*\n\tby mx\.test\.example "
                     rb"\(smtpd\) with ESMTP id [0-9-]+\n\tfor "
                     rb"<r1@test\.example>;", head), head
    assert head.endswith(msg.partition(b"\n\n")[0])
    assert b"Return-Path: <alice@example.org>" in head
    wait_until(p.spool_empty, what="an empty spool")
    wait_logged(p.fwd, "event=done id=")


def test_100_messages_3_recipients_arrive_once(product_postfix, postfix):
    p = product_postfix
    rcpts = ["a@test.example", "b@test.example", "c@test.example"]
    msgs = [("alice@example.org", rcpts, wire(message(n, rcpts,
                                                      b"message %d\n" % n)))
            for n in range(100, 200)]
    p.send(msgs[:50])
    p.send(msgs[50:])

    def arrived():
        return sum(len(postfix.mailbox(m)) for m in ("a", "b", "c"))
    wait_until(lambda: arrived() >= 300, timeout=60,
               what="300 deliveries", log=lambda: "%d arrived\n%s" % (
                   arrived(), postfix.log()[-3000:]))
    wait_until(p.spool_empty, what="an empty spool")
    count = collections.Counter()
    for m in ("a", "b", "c"):
        for data in postfix.mailbox(m):
            n = int(re.search(rb"<e2e-(\d+)@example.org>", data).group(1))
            count[(n, m)] += 1
            assert split(data)[1] == b"message %d\n" % n
    assert set(count) == {(n, m) for n in range(100, 200)
                          for m in ("a", "b", "c")}
    assert max(count.values()) == 1               # once each
    wait_until(lambda: p.fwd.log().count("event=done id=") == 100,
               what="100 done lines", log=p.fwd.log)


def test_smtplib_to_maildir(product_maildir, scratch):
    p = product_maildir
    rcpts = ["x@test.example", "y@test.example"]
    p.send([("alice@example.org", rcpts, wire(message(n, rcpts)))
            for n in range(5)])
    wait_until(lambda: len(parse_maildir(scratch / "Maildir")) == 10,
               timeout=20, what="10 Maildir files", log=p.fwd.log)
    got = collections.Counter()
    for rcpt, sender, data in parse_maildir(scratch / "Maildir"):
        assert sender == "alice@example.org"
        assert split(data)[1] == BODY
        n = int(re.search(rb"<e2e-(\d+)@example.org>", data).group(1))
        got[(n, rcpt)] += 1
    assert set(got) == {(n, r) for n in range(5) for r in rcpts}
    assert max(got.values()) == 1
