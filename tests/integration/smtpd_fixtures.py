# smtpd_fixtures.py - helpers for the smtpd integration tests: a test
# user and group, a jail made by scripts/jail-setup, an accept-and-exec
# harness that runs the real smtpd binary in inetd mode (the connection
# on fd 0/1) for each TCP connection on loopback, a one-shot runner over
# a socketpair, and a reader for spool files (docs/spool.5).
#
# The smtpd under test is $GK_BUILD/bin/smtpd (build-*/asan by default).
# LeakSanitizer cannot run inside a chroot without /proc, so the asan
# binary runs with detect_leaks=0 here; leaks in the session code are
# caught by tests/unit/session_test under ASan instead.
# SPDX-License-Identifier: BSD-2-Clause

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, gk_build, need_binary

TEST_USER = "gksmtpd"
TEST_GROUP = "gksmtpd"
TEST_FWD = "gksmtpfwd"
MYNAME = "mx.test.example"
SESSION_TIMEOUT = 30


def ensure_account(name, group):
    """A system user (and its group) for the tests; made if missing."""
    try:
        grp.getgrnam(group)
    except KeyError:
        subprocess.run(["groupadd", "-r", group], check=True)
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-r", "-M", "-d", "/nonexistent",
                        "-s", "/usr/sbin/nologin", "-g", group, name],
                       check=True)
    return pwd.getpwnam(name).pw_uid, grp.getgrnam(group).gr_gid


def smtpd_binary():
    return need_binary(gk_build() / "bin" / "smtpd")


class Jail:
    """A jail under a private temp dir, made by scripts/jail-setup."""

    def __init__(self, rules="allow:ALL:ALL:ALL\n"):
        if os.geteuid() != 0:
            pytest.fail("the smtpd tests chroot: run them as root (CI does)",
                        pytrace=False)
        self.uid, self.gid = ensure_account(TEST_USER, TEST_GROUP)
        ensure_account(TEST_FWD, TEST_GROUP)
        self.base = Path(tempfile.mkdtemp(prefix="gk-smtpd-"))
        self.path = self.base / "jail"
        rules_file = self.base / "rules"
        rules_file.write_text(rules)
        proc = subprocess.run(
            ["sh", str(ROOT / "scripts" / "jail-setup"), "-u", TEST_USER,
             "-g", TEST_GROUP, "-f", TEST_FWD, "-r", str(rules_file),
             str(self.path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        self.new = self.path / "spool" / "new"
        self.tmp = self.path / "spool" / "tmp"

    def set_rules(self, text):
        p = self.path / "etc" / "smtpd_check_rules"
        p.write_text(text)

    def spooled(self):
        """The files in spool/new, oldest first."""
        return sorted(self.new.iterdir(), key=lambda p: p.stat().st_mtime)

    def remove(self):
        shutil.rmtree(self.base, ignore_errors=True)


def smtpd_argv(jail, extra=()):
    return [str(smtpd_binary()), "-l", "-v", "-c", str(jail.path),
            "-u", TEST_USER, "-g", TEST_GROUP, "-m", MYNAME] + list(extra)


def smtpd_env(env=None, servers=None):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("SMTPD_", "JUNIPER_", "TCPREMOTE"))}
    if servers is not None:
        e["DNSCACHEIP"] = servers
    e["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    e["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    e["TZ"] = "UTC"
    e.update(env or {})
    return e


def check_stderr(text):
    assert "Sanitizer" not in text, text
    assert "runtime error:" not in text, text


def close_listener(sock, thread):
    """End a listener whose thread loops on accept(): shut it down, which
    wakes a blocked accept(), wait for the thread, then close it. A bare
    close() would leave the thread blocked, or about to call accept() on
    a descriptor number the next test's listener may take, and then
    steal that test's connections."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    thread.join(timeout=10)
    assert not thread.is_alive(), "the accept thread did not end"
    sock.close()


class InetdHarness:
    """Listens on 127.0.0.1:<ephemeral>; for each connection runs smtpd
    with the socket as fd 0 and 1 and its stderr in a log file (as
    inetd's "nowait" does). stop() ends the listener and waits for every
    child; logs() returns what they wrote."""

    def __init__(self, jail, extra=(), env=None, servers=None):
        self.jail = jail
        self.argv = smtpd_argv(jail, extra)
        self.env = smtpd_env(env, servers)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.procs = []
        self.lock = threading.Lock()
        self.logdir = Path(tempfile.mkdtemp(prefix="gk-smtpd-log-"))
        self.count = 0
        self.running = True
        self.saved_logs = None
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if not self.running:
                conn.close()
                return
            with self.lock:
                self.count += 1
                log = open(self.logdir / f"s{self.count}.log", "wb")
                p = subprocess.Popen(self.argv, stdin=conn, stdout=conn,
                                     stderr=log, env=self.env,
                                     close_fds=True)
                self.procs.append(p)
            conn.close()
            log.close()

    def last_pid(self, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.procs:
                    return self.procs[-1].pid
            time.sleep(0.01)
        raise AssertionError("no smtpd started")

    def wait(self, timeout=SESSION_TIMEOUT):
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            p.wait(timeout=timeout)
        return [p.returncode for p in procs]

    def logs(self):
        if self.saved_logs is not None:
            return self.saved_logs
        out = []
        for p in sorted(self.logdir.glob("s*.log"),
                        key=lambda x: int(x.stem[1:])):
            out.append(p.read_text(errors="replace"))
        return "".join(out)

    def stop(self):
        self.running = False
        close_listener(self.sock, self.thread)
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            try:
                p.wait(timeout=SESSION_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.saved_logs = self.logs()
        check_stderr(self.saved_logs)
        shutil.rmtree(self.logdir, ignore_errors=True)


class Session:
    """A raw SMTP client over a socket: send bytes, read whole replies."""

    def __init__(self, sock, timeout=SESSION_TIMEOUT):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; pending {self.buf!r}")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode("ascii", "replace")

    def reply(self):
        """One (possibly multi-line) reply: (code, [lines])."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return int(lines[-1][:3]), lines

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True if the server closes the connection (EOF) in time."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def connect(harness):
    s = socket.create_connection(("127.0.0.1", harness.port), timeout=10)
    return Session(s)


class OneShot:
    """smtpd on one end of a socketpair (no TCP): for tests that set the
    client's identity with SMTPD_PEER_IP and friends."""

    def __init__(self, jail, extra=(), env=None, servers=None):
        a, b = socket.socketpair()
        self.proc = subprocess.Popen(smtpd_argv(jail, extra), stdin=b,
                                     stdout=b, stderr=subprocess.PIPE,
                                     env=smtpd_env(env, servers))
        b.close()
        self.s = Session(a)
        self.stderr = None

    def finish(self):
        self.s.close()
        _, err = self.proc.communicate(timeout=SESSION_TIMEOUT)
        self.stderr = err.decode(errors="replace")
        check_stderr(self.stderr)
        return self.stderr


class SpoolFile:
    """A spool file read back and checked as docs/spool.5 says."""

    KEYS = ("VERSION", "ID", "TIME", "CLIENT-IP", "CLIENT-NAME", "HELO",
            "IDENT", "PROTO", "BODY-TYPE", "SIZE", "FROM")

    def __init__(self, path):
        data = Path(path).read_bytes()
        self.path = Path(path)
        self.fields = {}
        self.rcpt = []
        pos = 0
        while True:
            nl = data.index(b"\n", pos)
            line = data[pos:nl].decode("ascii")
            pos = nl + 1
            assert re.fullmatch(r"[\x20-\x7e]*", line), line
            if line == "BODY":
                break
            key, _, value = line.partition(" ")
            if key in ("RCPT", "SENT", "FAIL"):
                self.rcpt.append(value)
            else:
                assert key in self.KEYS, line
                assert key not in self.fields, line
                self.fields[key] = value
        self.body = data[pos:]
        assert self.fields["VERSION"] == "1"
        assert self.fields["ID"] == self.path.name
        assert int(self.fields["SIZE"]) == len(self.body)
        # the Received header: first line plus its continuation lines
        lines = self.body.split(b"\n")
        n = 1
        while n < len(lines) and lines[n][:1] in (b"\t", b" "):
            n += 1
        self.received = b"\n".join(lines[:n]).decode("ascii")
        self.message = b"\n".join(lines[n:])

    def __getitem__(self, key):
        return self.fields.get(key)


def wait_for(pred, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def kill(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
