# test_smtpd_ident.py - the RFC 1413 ident client of smtpd, against a
# small ident server on 127.0.0.1:113: asked once per connection, only
# when a rule needs the user, with the right port pair; its answer is
# used by the rules, logged, and written to the spool and Received. A
# server that never answers costs the deadline once and is no failure.
# SPDX-License-Identifier: BSD-2-Clause

import socket
import threading
import time

import pytest

from smtpd_fixtures import (InetdHarness, Jail, SpoolFile, close_listener,
                            connect)

RULES = """# ident tests
noto:identuser@ALL:ALL:*@x.example:550 5.7.1 not for %U
allow:ALL:ALL:ALL
"""


class IdentServer:
    """Answers (or, if silent, never answers) ident queries."""

    def __init__(self, user="IdentUser", silent=False):
        self.user = user
        self.silent = silent
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("127.0.0.1", 113))
        except OSError as e:
            pytest.fail(f"cannot bind 127.0.0.1:113 for the ident test: "
                        f"{e}", pytrace=False)
        self.sock.listen(8)
        self.held = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(5)
            try:
                q = c.recv(1000).decode("ascii", "replace").strip()
            except OSError:
                c.close()
                continue
            self.queries.append(q)
            if self.silent:
                self.held.append(c)
                continue
            c.sendall(f"{q} : USERID : UNIX : {self.user}\r\n".encode())
            c.close()

    def stop(self):
        close_listener(self.sock, self.thread)
        for c in self.held:
            c.close()


@pytest.fixture
def jail():
    j = Jail(RULES)
    yield j
    j.remove()


def test_ident_asked_once_and_used(jail):
    ident = IdentServer()
    h = InetdHarness(jail, extra=["-o", "ident=on", "-o", "ident_timeout=2"])
    try:
        s = connect(h)
        client_port = s.sock.getsockname()[1]
        assert s.reply()[0] == 220
        assert s.cmd("EHLO ident.example.org")[0] == 250
        assert ident.queries == []          # nobody needed it yet
        assert s.cmd("MAIL FROM:<a@example.org>")[0] == 250
        code, lines = s.cmd("RCPT TO:<u@x.example>")
        assert code == 550 and lines[0] == "550 5.7.1 not for identuser"
        assert s.cmd("RCPT TO:<u@y.example>")[0] == 250
        assert s.cmd("RCPT TO:<v@y.example>")[0] == 250
        assert s.cmd("DATA")[0] == 354
        s.send(b"Subject: ident\r\n\r\nhi\r\n.\r\n")
        assert s.reply()[0] == 250
        assert s.cmd("QUIT")[0] == 221
    finally:
        h.stop()
        ident.stop()
    assert ident.queries == [f"{client_port} , {h.port}"]
    f = SpoolFile(jail.spooled()[0])
    assert f["IDENT"] == "identuser"
    assert "ident=identuser" in f.received
    assert "smtp connection from identuser@UNKNOWN(127.0.0.1)" in h.logs()


def test_silent_ident_costs_the_deadline_once(jail):
    ident = IdentServer(silent=True)
    h = InetdHarness(jail, extra=["-o", "ident=on", "-o", "ident_timeout=2"])
    try:
        s = connect(h)
        assert s.reply()[0] == 220
        assert s.cmd("EHLO ident.example.org")[0] == 250
        assert s.cmd("MAIL FROM:<a@example.org>")[0] == 250
        t0 = time.monotonic()
        assert s.cmd("RCPT TO:<u@x.example>")[0] == 250
        first = time.monotonic() - t0
        t0 = time.monotonic()
        assert s.cmd("RCPT TO:<u@y.example>")[0] == 250
        second = time.monotonic() - t0
        assert s.cmd("QUIT")[0] == 221
    finally:
        h.stop()
        ident.stop()
    assert 1.9 <= first < 4, first
    assert second < 1.0, second         # the deadline is not paid again
    assert len(ident.queries) == 1
    assert "smtp connection from UNKNOWN@UNKNOWN(127.0.0.1)" in h.logs()


def test_ident_off_never_asks(jail):
    ident = IdentServer()
    h = InetdHarness(jail)
    try:
        s = connect(h)
        assert s.reply()[0] == 220
        assert s.cmd("HELO ident.example.org")[0] == 250
        assert s.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert s.cmd("RCPT TO:<u@x.example>")[0] == 250
        assert s.cmd("QUIT")[0] == 221
    finally:
        h.stop()
        ident.stop()
    assert ident.queries == []
