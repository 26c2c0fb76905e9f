# test_smtpfwdd_postfix.py - smtpfwdd delivers through a REAL Postfix
# sendmail into a private Postfix instance (fwdpostfix.py): the message
# arrives in the mailbox byte for byte, the null sender and several
# recipients are handled, and a Postfix that is down means a retry,
# never a loss.
# SPDX-License-Identifier: BSD-2-Clause

import pwd
import shutil
import signal

import pytest

from fwdfixtures import FwdEnv
from fwdpostfix import Postfix, start_instance, stop_instance
from fwdspool import message, spool_files, wait_logged, wait_until
from smtpd_fixtures import TEST_FWD, TEST_GROUP, ensure_account

MAILBOXES = ["r1", "r2", "r3", "a", "b", "c"]


@pytest.fixture(scope="module")
def postfix():
    ensure_account(TEST_FWD, TEST_GROUP)
    pf = start_instance(TEST_GROUP, MAILBOXES)
    yield pf
    stop_instance(pf)


@pytest.fixture
def pfwd(scratch):
    env = FwdEnv(scratch, user=TEST_FWD, group=TEST_GROUP)
    yield env
    env.close()


def original_part(delivered, msg):
    """What follows Postfix's own headers: from our Received on."""
    i = delivered.find(b"Received: from client.example")
    assert i >= 0, delivered[:500]
    return delivered[i:]


def assert_same_message(delivered, msg):
    """The body byte for byte; the header fields in order (Postfix may
    append Date: and the like to a header that lacks them)."""
    got = original_part(delivered, msg)
    got_head, _, got_body = got.partition(b"\n\n")
    head, _, body = msg.partition(b"\n\n")
    assert got_body == body
    assert got_head.startswith(head), (got_head, head)


BODY = (b"Plain line.\n"
        b".A line that starts with a dot\n"
        b"..and one with two\n"
        b"\n"
        b"8-bit: \xc3\xa9t\xc3\xa9 \xff\xfe\n"
        b"trailing blanks   \n"
        b"tab\there\n"
        b"From the start of a line\n"
        + b"x" * 1500 + b"\n"
        b"last line\n")


def test_message_arrives_byte_for_byte(postfix, pfwd):
    headers = (b"From: Alice <alice@example.org>\n"
               b"To: r1@test.example\n"
               b"Date: Sat, 23 Nov 2026 15:33:00 +0000\n")
    mid = "1795000001-000001-1-1"
    msg = message(mid, body=BODY, headers=headers)
    pfwd.write(sender="<alice@example.org>", rcpts=["<r1@test.example>"],
               msg=msg, mid=mid)
    d = pfwd.start(pfwd.user_args() + postfix.sendmail_args())
    got = wait_until(lambda: postfix.mailbox("r1"), timeout=20,
                     what="delivery into the Postfix mailbox",
                     log=lambda: pfwd.log() + postfix.log())
    assert d.stop() == 0
    delivered = got[0]
    # Postfix prepends its headers; everything from smtpd's Received
    # on is the spooled message, unchanged, body and all.
    assert original_part(delivered, msg) == msg
    assert delivered.endswith(b"\n\n" + BODY)
    assert b"Return-Path: <alice@example.org>\n" in delivered
    assert b"Delivered-To: r1@test.example\n" in delivered
    assert "event=done id=%s" % mid in pfwd.log()
    wait_logged(postfix, "status=sent (delivered to maildir)")


def test_null_sender_and_three_recipients(postfix, pfwd):
    mid = pfwd.write(sender="<>", rcpts=["<r1@test.example>",
                                         "<r2@test.example>",
                                         "<r3@test.example>"])
    tag = b"Message-ID: <%s@test>" % mid.encode()

    def mine(m):
        return [x for x in postfix.mailbox(m) if tag in x]
    d = pfwd.start(pfwd.user_args() + postfix.sendmail_args())
    wait_until(lambda: all(mine(m) for m in ("r1", "r2", "r3")), timeout=20,
               what="three deliveries", log=postfix.log)
    assert d.stop() == 0
    for m in ("r1", "r2", "r3"):
        got = mine(m)
        assert len(got) == 1
        assert b"Return-Path: <>\n" in got[0]
        assert_same_message(got[0], message(mid))


def test_postfix_down_means_retry(pfwd):
    """With no queue directory, Postfix's sendmail fails with
    EX_TEMPFAIL (75): smtpfwdd keeps the message and delivers it once
    Postfix is back (SIGHUP: retry now, rather than in 10 minutes)."""
    ensure_account(TEST_FWD, TEST_GROUP)
    base = pfwd.base / "pf"
    pf = Postfix(base, TEST_GROUP, MAILBOXES,
                 (pwd.getpwnam("nobody").pw_uid,
                  pwd.getpwnam("nobody").pw_gid))
    pf._write_config()            # configured, not started, no queue yet
    shutil.rmtree(pf.queue)
    mid = pfwd.write(rcpts=["<r1@test.example>"])
    d = pfwd.start(pfwd.user_args() + pf.sendmail_args() +
                   ["-r", "600", "-R", "600"])
    wait_until(lambda: "event=deferred id=%s" % mid in pfwd.log(),
               timeout=20, what="a deferral")
    assert "sendmail exited 75 (EX_TEMPFAIL)" in pfwd.log()
    assert spool_files(pfwd.spool, "work") == [mid]
    try:
        pf.start()
        d.signal(signal.SIGHUP)
        wait_until(lambda: pf.mailbox("r1"), timeout=20,
                   what="delivery after the restart",
                   log=lambda: pfwd.log() + pf.log())
    finally:
        assert d.stop() == 0
        pf.stop()
    assert not spool_files(pfwd.spool, "work")
    assert not spool_files(pfwd.spool, "hold")
