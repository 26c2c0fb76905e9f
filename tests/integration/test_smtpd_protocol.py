# test_smtpd_protocol.py - the real smtpd binary in inetd mode, chrooted
# into a jail made by scripts/jail-setup, against real clients on
# loopback: Python's smtplib, a raw pipelining client, and swaks. Each
# accepted message must land in spool/new byte-identical to what was
# sent (LF line ends, dot-unstuffed), after the added Received header.
# SPDX-License-Identifier: BSD-2-Clause

import shutil
import smtplib
import socket
import statistics
import subprocess
import threading
import time

import pytest

from smtpd_fixtures import (MYNAME, InetdHarness, Jail, SpoolFile, connect,
                            kill, wait_for)

RULES = """# protocol tests
noto:ALL:ALL:*@refused.example:550 5.1.1 no such user %T
allow:ALL:ALL:ALL
"""

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: Bob <bob@example.net>\r\n"
           b"Subject: integration\r\n"
           b"\r\n"
           b"First line.\r\n"
           b".A line that starts with a dot\r\n"
           b"..two dots\r\n"
           b"8-bit: caf\xc3\xa9 and a bare CR\rhere\r\n"
           b"\r\n"
           b"Last line.\r\n")


@pytest.fixture
def jail():
    j = Jail(RULES)
    yield j
    j.remove()


@pytest.fixture
def server(jail):
    h = InetdHarness(jail, extra=["-s", "100000", "-o", "idle_timeout=5"])
    yield h
    h.stop()


def stored(msg):
    """What the spool must hold after the Received header."""
    return msg.replace(b"\r\n", b"\n")


def test_smtplib_plain(server, jail):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as c:
        code, banner = c.ehlo("client.example.org")
        assert code == 250
        assert c.has_extn("pipelining") and c.has_extn("8bitmime")
        assert c.has_extn("enhancedstatuscodes")
        assert c.esmtp_features["size"] == "100000"
        refused = c.sendmail("alice@example.org",
                             ["bob@example.net", "x@refused.example"],
                             MESSAGE, mail_options=["BODY=8BITMIME"])
        assert refused == {"x@refused.example":
                           (550, b"5.1.1 no such user <x@refused.example>")}
    server.wait()
    files = jail.spooled()
    assert len(files) == 1
    f = SpoolFile(files[0])
    assert f["FROM"] == "<alice@example.org>"
    assert f.rcpt == ["<bob@example.net>"]
    assert f["CLIENT-IP"] == "127.0.0.1"
    assert f["HELO"] == "client.example.org"
    assert f["PROTO"] == "ESMTP" and f["BODY-TYPE"] == "8BITMIME"
    assert f.message == stored(MESSAGE)
    assert f.received.startswith("Received: from client.example.org (")
    assert f"by {MYNAME} (smtpd) with ESMTP id {f['ID']}" in f.received
    assert "for <bob@example.net>;" in f.received
    assert f.received.endswith("+0000")
    logs = server.logs()
    assert f"event=queued id={f['ID']}" in logs
    assert "noto by line 2 of /etc/smtpd_check_rules" in logs
    assert "end=quit" in logs
    assert not list(jail.tmp.iterdir())


def test_smtplib_helo_and_errors(server, jail):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as c:
        assert c.docmd("MAIL FROM:<a@example.org>")[0] == 503
        assert c.helo("old.example.org")[0] == 250
        assert c.docmd("FOO")[0] == 500
        assert c.docmd("MAIL FROM:<a@example.org> SIZE=200000")[0] == 552
        c.sendmail("a@example.org", ["b@example.net"], b"Subject: x\r\n\r\nhi\r\n")
    server.wait()
    f = SpoolFile(jail.spooled()[0])
    assert f["PROTO"] == "SMTP"
    assert f.message == b"Subject: x\n\nhi\n"


def test_oversize_is_drained_then_refused(server, jail):
    # MAIL without SIZE=, so only the DATA phase can notice
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 150
    s = connect(server)
    assert s.reply()[0] == 220
    assert s.cmd("EHLO client.example.org")[0] == 250
    assert s.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert s.cmd("RCPT TO:<b@example.net>")[0] == 250
    assert s.cmd("DATA")[0] == 354
    s.send(big + b".\r\n")
    code, lines = s.reply()
    assert code == 552 and "5.3.4" in lines[0]
    # the session goes on: the body was not read as commands
    assert s.cmd("NOOP")[0] == 250
    assert s.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert s.cmd("RCPT TO:<b@example.net>")[0] == 250
    assert s.cmd("DATA")[0] == 354
    s.send(MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    assert s.reply()[0] == 250
    assert s.cmd("QUIT")[0] == 221
    server.wait()
    files = jail.spooled()
    assert len(files) == 1
    assert SpoolFile(files[0]).message == stored(MESSAGE)
    assert not list(jail.tmp.iterdir())
    assert "reason=size bytes=" in server.logs()


def test_raw_pipelining(server, jail):
    s = connect(server)
    assert s.reply()[0] == 220
    s.send(b"EHLO pipe.example.org\r\nMAIL FROM:<p@example.org>\r\n"
           b"RCPT TO:<one@example.net>\r\nRCPT TO:<x@refused.example>\r\n"
           b"RCPT TO:<two@example.net>\r\nDATA\r\n")
    codes = [s.reply()[0] for _ in range(6)]
    assert codes == [250, 250, 250, 550, 250, 354]
    # the message, the final dot, a second transaction and QUIT in one go
    s.send(MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\n"
           b"MAIL FROM:<q@example.org>\r\nRCPT TO:<three@example.net>\r\n"
           b"DATA\r\n")
    codes = [s.reply()[0] for _ in range(4)]
    assert codes == [250, 250, 250, 354]
    s.send(b"Subject: second\r\n\r\n.\r\nQUIT\r\n")
    assert s.reply()[0] == 250
    assert s.reply()[0] == 221
    assert s.closed()
    server.wait()
    files = [SpoolFile(p) for p in jail.spooled()]
    assert len(files) == 2
    byrcpt = {tuple(f.rcpt): f for f in files}
    first = byrcpt[("<one@example.net>", "<two@example.net>")]
    assert first.message == stored(MESSAGE)
    assert "for <" not in first.received
    second = byrcpt[("<three@example.net>",)]
    assert second.message == b"Subject: second\n\n"


def test_swaks(server, jail):
    swaks = shutil.which("swaks")
    assert swaks, "swaks is not installed (scripts/install-deps)"
    body = "Line one\n.dotted line\nLine three"
    for extra in ([], ["--pipeline"]):
        p = subprocess.run(
            [swaks, "--server", "127.0.0.1", "--port", str(server.port),
             "--from", "sw@example.org", "--to", "bob@example.net",
             "--helo", "swaks.example.org", "--header", "Subject: swaks",
             "--body", body, "--timeout", "20"] + extra,
            capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "250 2.0.0 Ok: queued as" in p.stdout
    server.wait()
    files = [SpoolFile(p) for p in jail.spooled()]
    assert len(files) == 2
    for f in files:
        assert f["HELO"] == "swaks.example.org"
        assert f.rcpt == ["<bob@example.net>"]
        assert b"\nSubject: swaks\n" in b"\n" + f.message
        assert b"\n\nLine one\n.dotted line\nLine three\n" in f.message


def test_concurrent_sessions_and_latency(server, jail):
    n = 12
    times = []
    errors = []

    def one(i):
        t0 = time.monotonic()
        try:
            with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as c:
                c.sendmail(f"s{i}@example.org", [f"r{i}@example.net"],
                           b"Subject: %d\r\n\r\nbody %d\r\n" % (i, i))
        except Exception as e:   # noqa: BLE001 - reported below
            errors.append(e)
        times.append(time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    server.wait()
    files = [SpoolFile(p) for p in jail.spooled()]
    assert len(files) == n
    assert len({f["ID"] for f in files}) == n
    print(f"\nsmtpd session latency over {n} concurrent sessions: "
          f"median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")


def test_idle_timeout(server):
    s = connect(server)
    assert s.reply()[0] == 220
    t0 = time.monotonic()
    code, lines = s.reply()
    assert code == 421 and "4.4.2" in lines[0]
    assert 4 <= time.monotonic() - t0 < 15
    assert s.closed()
    server.wait()
    assert "Timeout on read (more than 5 seconds)" in server.logs()
    assert "end=timeout" in server.logs()


def test_sigterm_gives_421(server):
    s = connect(server)
    assert s.reply()[0] == 220
    assert s.cmd("EHLO term.example.org")[0] == 250
    kill(server.last_pid())
    code, lines = s.reply()
    assert code == 421 and "4.3.2" in lines[0]
    assert s.closed()
    server.wait()
    assert "end=shutdown" in server.logs()


def test_quoted_local_parts_are_stored(server, jail):
    # What the RCPT parser takes the spool must take: an escaped quote
    # and a quoted space, in the sender and in a recipient.
    s = connect(server)
    assert s.reply()[0] == 220
    assert s.cmd("EHLO quoted.example.org")[0] == 250
    assert s.cmd('MAIL FROM:<"a\\"b"@example.org>')[0] == 250
    assert s.cmd('RCPT TO:<"c\\" d"@example.net>')[0] == 250
    assert s.cmd('RCPT TO:<"e f"@example.net>')[0] == 250
    assert s.cmd("DATA")[0] == 354
    s.send(b"Subject: quoted\r\n\r\nbody\r\n.\r\n")
    assert s.reply()[0] == 250
    assert s.cmd("QUIT")[0] == 221
    server.wait()
    files = jail.spooled()
    assert len(files) == 1
    f = SpoolFile(files[0])
    assert f["FROM"] == '<"a\\"b"@example.org>'
    assert f.rcpt == ['<"c\\" d"@example.net>', '<"e f"@example.net>']


def test_session_timeout_within_a_pipelined_batch(jail):
    # Each unknown command waits the tarpit delay: twenty of them sent at
    # once must not hold the session for twenty seconds past its end.
    h = InetdHarness(jail, extra=["-o", "session_timeout=2", "-o",
                                  "tarpit_delay=1", "-o", "max_errors=100"])
    try:
        s = connect(h)
        assert s.reply()[0] == 220
        t0 = time.monotonic()
        s.send(b"BOGUS\r\n" * 20)
        codes = []
        while True:
            code, lines = s.reply()
            codes.append(code)
            if code != 500:
                break
        assert code == 421 and "4.4.2" in lines[0], lines
        assert 1 <= codes.count(500) <= 3, codes
        assert time.monotonic() - t0 < 6
        assert s.closed()
        h.wait()
    finally:
        h.stop()
    assert "Timeout on session (more than 2 seconds)" in h.logs()
    assert "end=session-timeout" in h.logs()


def test_unread_bytes_do_not_turn_the_close_into_a_reset(jail):
    # The client pipelines far past max_errors: smtpd answers 421 with
    # most of it unread. The client must read the 421 and then an
    # orderly end (FIN), not a reset.
    h = InetdHarness(jail, extra=["-o", "max_errors=2"])
    try:
        s = connect(h)
        assert s.reply()[0] == 220
        s.send(b"BOGUS\r\n" * 6000)       # 42 KB: more than one read
        time.sleep(0.5)
        codes = []
        lines = []
        try:
            while True:
                code, lines = s.reply()
                codes.append(code)
        except EOFError:
            pass                            # ConnectionResetError fails
        assert codes[-1] == 421 and "4.7.0" in lines[0], (codes, lines)
        s.sock.close()
        h.wait()
    finally:
        h.stop()
    assert "end=errors" in h.logs()


def test_early_talker_and_banner_delay(jail):
    h = InetdHarness(jail, extra=["-o", "banner_delay=1"])
    try:
        bot = socket.create_connection(("127.0.0.1", h.port), timeout=10)
        bot.sendall(b"EHLO bot.example\r\n")
        polite = connect(h)
        t0 = time.monotonic()
        assert polite.reply()[0] == 220
        assert time.monotonic() - t0 >= 0.9
        assert polite.cmd("QUIT")[0] == 221
        bot.settimeout(10)
        data = b""
        while True:
            chunk = bot.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"554 5.5.1 ")
        assert b"220" not in data
    finally:
        h.stop()
    logs = h.logs()
    assert "event=early-talker ip=127.0.0.1" in logs
    assert "end=early-talker" in logs


def test_broken_rules_fail_closed(jail):
    jail.set_rules("allow:ALL:ALL:ALL\nbogus:ALL:ALL:ALL\n")
    h = InetdHarness(jail)
    try:
        with smtplib.SMTP("127.0.0.1", h.port, timeout=20) as c:
            c.ehlo("client.example.org")
            c.mail("a@example.org")
            code, msg = c.rcpt("b@example.net")
            assert code == 451, msg
    finally:
        h.stop()
    logs = h.logs()
    assert "/etc/smtpd_check_rules:2:" in logs
    assert "event=rules-error" in logs
    assert not jail.spooled()


def test_no_spool_file_left_on_eof(server, jail):
    s = connect(server)
    assert s.reply()[0] == 220
    assert s.cmd("EHLO eof.example.org")[0] == 250
    assert s.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert s.cmd("RCPT TO:<b@example.net>")[0] == 250
    assert s.cmd("DATA")[0] == 354
    s.send(b"Subject: cut\r\n\r\nhalf")
    assert wait_for(lambda: list(jail.tmp.iterdir()))
    s.close()
    server.wait()
    assert not list(jail.tmp.iterdir())
    assert not jail.spooled()
    assert "EOF while receiving message body" in server.logs()
