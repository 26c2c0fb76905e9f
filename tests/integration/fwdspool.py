# fwdspool.py - helpers for the smtpfwdd tests: write spool files in the
# format of docs/spool.5 (as smtpd does: tmp/, then rename into new/),
# run smtpfwdd, and read what the sendmail stand-in and Maildirs got.
# Files can be made deliberately malformed (envelope= replaces the
# envelope lines verbatim; size= overrides SIZE).
# SPDX-License-Identifier: BSD-2-Clause

import itertools
import os
import re
import signal
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_SENDMAIL = HERE / "fake-sendmail"
_counter = itertools.count(1)


def make_id(now=None):
    """An id in smtpd's shape: seconds-usec-pid-counter."""
    t = time.time() if now is None else now
    return "%d-%06d-%d-%d" % (int(t), int((t % 1) * 1e6), os.getpid(),
                              next(_counter))


def make_spool(root):
    """A spool directory with tmp/ new/ work/ hold/, mode as spool.5."""
    root = Path(root)
    for d in ("", "tmp", "new", "work", "hold"):
        (root / d).mkdir(mode=0o750 if d == "" else 0o700, exist_ok=True)
    return root


def envelope(mid, sender, rcpts, size, when=None, states=None):
    """The envelope lines of a valid version 1 file."""
    when = int(time.time()) if when is None else when
    lines = ["VERSION 1", "ID " + mid, "TIME %d" % when,
             "CLIENT-IP 192.0.2.1", "CLIENT-NAME client.example",
             "HELO client.example", "PROTO ESMTP", "BODY-TYPE 8BITMIME",
             "SIZE %020d" % size, "FROM " + sender]
    for i, r in enumerate(rcpts):
        kw = states[i] if states else "RCPT"
        lines.append("%s %s" % (kw, r))
    lines.append("BODY")
    return ("\n".join(lines) + "\n").encode()


def received(mid):
    return ("Received: from client.example (client.example [192.0.2.1])\n"
            "\tby mx.test.example (smtpd) with ESMTP id %s;\n"
            "\tSat, 23 Nov 2026 15:33:00 +0000\n" % mid).encode()


def message(mid, subject="test", body=b"Hello.\n", headers=b""):
    """A message as smtpd stores it: Received first, LF line ends."""
    return (received(mid) + b"Subject: " + subject.encode() + b"\n" +
            b"Message-ID: <" + mid.encode() + b"@test>\n" + headers +
            b"\n" + body)


def write_spool(root, sender="<alice@example.org>", rcpts=("<bob@test.example>",),
                msg=None, mid=None, when=None, states=None, envelope_bytes=None,
                size=None, where="new", name=None, owner=None):
    """Write one spool file as smtpd would (tmp/, fsync, rename into
    new/ by default), owned by owner=(uid, gid) if given. Returns its
    id."""
    root = Path(root)
    mid = mid or make_id()
    if msg is None:
        msg = message(mid)
    if envelope_bytes is None:
        envelope_bytes = envelope(mid, sender, list(rcpts),
                                  len(msg) if size is None else size,
                                  when, states)
    name = name or mid
    tmp = root / "tmp" / name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o660)
    try:
        os.write(fd, envelope_bytes + msg)
        if owner is not None:
            os.fchown(fd, owner[0], owner[1])
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, root / where / name)
    return mid


def parse_maildir(path):
    """[(delivered_to, return_path, bytes)] for every file in new/."""
    out = []
    d = Path(path) / "new"
    if not d.is_dir():
        return out
    for f in sorted(d.iterdir()):
        data = f.read_bytes()
        m1 = re.match(rb"Return-Path: <([^>]*)>\nDelivered-To: ([^\n]*)\n",
                      data)
        assert m1, data[:200]
        out.append((m1.group(2).decode(), m1.group(1).decode(),
                    data[m1.end():]))
    return out


def fake_records(ctl, finished=True):
    """Runs of fake-sendmail under control dir ctl: dicts with argv
    (list), env (dict) and body (bytes), in no particular order. Only
    runs that reached their end, unless finished is false."""
    runs = []
    d = Path(ctl) / "runs"
    if not d.is_dir():
        return runs
    pats = ["*.argv"] + ([] if finished else ["*.argv.tmp"])
    for pat in pats:
        for a in d.glob(pat):
            stem = a.name.split(".argv")[0]
            body = d / (stem + ".body")
            argv = a.read_bytes().split(b"\0")[:-1]
            env = {}
            try:
                for line in (d / (stem + ".env")).read_text().splitlines():
                    k, _, v = line.partition("=")
                    env[k] = v
            except OSError:
                pass
            runs.append({"argv": [x.decode() for x in argv], "env": env,
                         "body": body.read_bytes() if body.exists() else b"",
                         "name": stem, "finished": pat == "*.argv"})
    return runs


def fake_control(ctl, mode="0"):
    """Set what fake-sendmail does next: an exit code, "hang", "kill"."""
    ctl = Path(ctl)
    (ctl / "runs").mkdir(parents=True, exist_ok=True)
    tmp = ctl / "mode.tmp"
    tmp.write_text(mode + "\n")
    os.rename(tmp, ctl / "mode")


def spool_files(root, sub):
    """Valid ids in root/sub (no dot files, no state files)."""
    d = Path(root) / sub
    return sorted(p.name for p in d.iterdir()
                  if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", p.name))


class Fwd:
    """A running smtpfwdd: start(), wait_for(), stop(); log in .log."""

    def __init__(self, exe, spool, args, env=None, logfile=None,
                 wrapper=()):
        self.wrapper = list(wrapper)    # a command that execs the rest
        self.exe = str(exe)
        self.spool = Path(spool)
        self.args = list(args)
        self.env = env
        self.logfile = Path(logfile or (self.spool.parent / "smtpfwdd.log"))
        self.proc = None

    def start(self):
        self.logf = open(self.logfile, "ab")
        argv = self.wrapper + [self.exe, "-l", "-v", "-d",
                               str(self.spool)] + self.args
        # Its own process group, as a daemon started from a shell would
        # be: a test can signal the group the way a terminal's ^C does.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     env=self.env, process_group=0)
        # Ready when the lock file carries our pid.
        lock = self.spool / "work" / ".smtpfwdd.pid"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("smtpfwdd exited %s:\n%s" % (
                    self.proc.returncode, self.log()))
            try:
                if lock.read_text().strip() == str(self.proc.pid):
                    return self
            except OSError:
                pass
            time.sleep(0.01)
        raise AssertionError("smtpfwdd did not start:\n" + self.log())

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def idle(self, timeout=10):
        """Wait until the master has reaped every worker: ask for a status
        line (SIGUSR1) until one says active=0, and return it.  A file's
        last move is not the end of its worker, which still holds the
        file's lock until it exits."""
        def status_lines():
            return [ln for ln in self.log().splitlines()
                    if "event=status " in ln]

        def ask():
            n = len(status_lines())
            self.signal(signal.SIGUSR1)
            wait_until(lambda: len(status_lines()) > n, what="a status line",
                       log=self.log)
            last = status_lines()[-1]
            return last if " active=0 " in last else None
        return wait_until(ask, timeout=timeout, step=0.05,
                          what="no worker running", log=self.log)

    def stop(self, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("smtpfwdd did not stop on SIGTERM")
        self.logf.close()
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()


def wait_until(cond, timeout=10, step=0.01, what="condition", log=None):
    """Poll cond until it is true; on time-out fail, showing log()."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what +
                         ("\n" + log() if log else ""))


def wait_logged(env, *needles, timeout=10):
    """Wait until env.log() holds every needle (a string or a compiled
    pattern) and return it.  smtpfwdd logs an outcome just after it moves
    or removes the file, so a wait on the spool alone can read the log a
    moment too early."""
    def found(text, n):
        return n.search(text) if hasattr(n, "search") else n in text

    def done():
        text = env.log()
        return text if all(found(text, n) for n in needles) else None
    return wait_until(done, timeout=timeout, what="log lines %r" %
                      [getattr(n, "pattern", n) for n in needles], log=env.log)
