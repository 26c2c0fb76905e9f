# test_smtpd_daemon.py - what only daemon mode (-D) does, against the real
# binary on loopback: IPv4 and IPv6 listeners; the cap per client and on
# children, with 421; the banner delay held by the master for many
# clients at once, early talkers refused without a fork; children that
# hold nothing of the master's; SIGTERM (no new clients, sessions may
# finish, then the drain timeout), SIGHUP (new rules, or the old ones if
# the new file is broken); the pid file and its lock; refusal to start on
# a broken rules file or an unsafe jail; syslog and DNS from inside the
# jail. The rest of the protocol runs in test_smtpd_daemon_protocol.py.
# SPDX-License-Identifier: BSD-2-Clause

import os
import resource
import signal
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from smtpd_fixtures import (MYNAME, TEST_GROUP, TEST_USER, Jail, Session,
                            SpoolFile, smtpd_binary, smtpd_env, wait_for)
from smtpd_harness import DaemonHarness, children_of, free_port, gone

RULES = """# daemon tests
noto:ALL:ALL:*@refused.example:550 5.1.1 no such user %T
allow:ALL:ALL:ALL
"""


@pytest.fixture
def jail():
    j = Jail(RULES)
    yield j
    j.remove()


def dial(h, host="127.0.0.1", timeout=10):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, h.port))
    return Session(s, timeout)


def mail(h, frm, to, host="127.0.0.1", body=b"Subject: t\r\n\r\nhi\r\n"):
    with smtplib.SMTP(host, h.port, timeout=20) as c:
        return c.sendmail(frm, [to], body)


def read_all(sess, timeout=10):
    """Everything until EOF."""
    sess.sock.settimeout(timeout)
    data = sess.buf
    while True:
        try:
            chunk = sess.sock.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def count(logs, text):
    return logs.count(text)


def private_dirty_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise AssertionError("no Private_Dirty")


def status_line(h, want):
    """Ask the master for its counts (SIGUSR1) until want() holds."""
    def probe():
        h.signal(signal.SIGUSR1)
        time.sleep(0.05)
        lines = [ln for ln in h.logs().splitlines()
                 if "event=daemon-status" in ln]
        if not lines:
            return None
        f = dict(kv.split("=", 1) for kv in lines[-1].split()
                 if "=" in kv)
        return f if want(f) else None
    return wait_for(probe, timeout=10, step=0.05)


def test_ipv4_and_ipv6_listeners(jail):
    h = DaemonHarness(jail, extra=["-H"], listen=("127.0.0.1", "::1"))
    try:
        mail(h, "v4@example.org", "a@example.net")
        mail(h, "v6@example.org", "b@example.net", host="::1")
        h.wait()
    finally:
        h.stop()
    ips = sorted(SpoolFile(p)["CLIENT-IP"] for p in jail.spooled())
    assert ips == ["127.0.0.1", "::1"]
    assert f"listen=127.0.0.1:{h.port},[::1]:{h.port}" in h.logs()


def test_per_ip_limit_gives_421(jail):
    h = DaemonHarness(jail, extra=["-H", "-o", "max_per_ip=2"],
                      listen=("127.0.0.1", "::1"), defaults=())
    try:
        a, b = dial(h), dial(h)
        assert a.reply()[0] == 220 and b.reply()[0] == 220
        c = dial(h)
        code, lines = c.reply()
        assert code == 421 and "4.7.0" in lines[0], lines
        assert c.closed()
        # another client (::1 is not 127.0.0.1) is not affected
        d = dial(h, "::1")
        assert d.reply()[0] == 220
        assert d.cmd("QUIT")[0] == 221
        # when one of the two ends, there is room again
        assert a.cmd("QUIT")[0] == 221
        assert a.closed()
        assert wait_for(lambda: len(children_of(h.pid)) == 1)
        e = dial(h)
        assert e.reply()[0] == 220
        for s in (b, e):
            assert s.cmd("QUIT")[0] == 221
        h.wait()
    finally:
        h.stop()
    logs = h.logs()
    assert count(logs, "end=ip-limit") == 1
    assert "ip=127.0.0.1 name=UNKNOWN helo=- messages=0" in logs


def test_children_cap_gives_421(jail):
    h = DaemonHarness(jail, extra=["-H", "-o", "max_children=1"])
    try:
        a = dial(h)
        assert a.reply()[0] == 220
        b = dial(h)
        code, lines = b.reply()
        assert code == 421 and "4.3.2" in lines[0] and "busy" in lines[0]
        assert a.cmd("QUIT")[0] == 221
        h.wait()
    finally:
        h.stop()
    assert count(h.logs(), "end=busy") == 1
    # with a banner delay the cap is checked when the delay is over
    h = DaemonHarness(jail, extra=["-H", "-o", "max_children=1", "-o",
                                   "banner_delay=1"])
    try:
        a = dial(h)
        assert a.reply()[0] == 220
        b = dial(h)
        t0 = time.monotonic()
        code, lines = b.reply()
        assert code == 421 and "busy" in lines[0]
        assert time.monotonic() - t0 >= 0.8
        assert a.cmd("QUIT")[0] == 221
        h.wait()
    finally:
        h.stop()


def test_banner_delay_in_the_master(jail):
    """Early talkers and clients that leave are dealt with by the master
    itself: logged under its pid, no child. Polite ones get a child."""
    h = DaemonHarness(jail, extra=["-H", "-o", "banner_delay=3"])
    try:
        t0 = time.monotonic()
        polite = dial(h)
        bot = dial(h)
        bot.send(b"EHLO bot.example\r\nMAIL FROM:<x@y>\r\n")
        data = read_all(bot)
        assert data.startswith(b"554 5.5.1 " + MYNAME.encode())
        assert b"220" not in data
        quitter = dial(h)
        quitter.close()
        time.sleep(0.3)
        assert time.monotonic() - t0 < 2.5
        assert children_of(h.pid) == [], "a child before the delay"
        assert polite.reply()[0] == 220
        assert time.monotonic() - t0 >= 2.9
        assert len(children_of(h.pid)) == 1
        assert polite.cmd("QUIT")[0] == 221
        h.wait()
    finally:
        h.stop()
    logs = h.logs()
    master = f"smtpd[{h.pid}]: "
    assert (master + "event=early-talker ip=127.0.0.1 name=UNKNOWN "
            "bytes=35 text=EHLO?bot.example??MAIL?FROM:<x@y>??") in logs
    assert master + "event=session ip=127.0.0.1" in logs
    assert count(logs, "end=early-talker") == 1
    assert count(logs, "end=eof") == 1
    assert count(logs, "end=quit") == 1


def test_many_held_clients_cost_no_process(jail):
    """A few hundred clients in the banner delay: one process, a few
    KiB each (bench/smtpd_bench.py measures 5,000)."""
    n = 400
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(max(hard, n + 200), n + 4096), max(hard,
                                                                   n + 200)))
    h = DaemonHarness(jail, extra=["-H", "-o", "banner_delay=30", "-o",
                                   "max_per_ip=1000"])
    socks = []
    try:
        base = private_dirty_kib(h.pid)
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", h.port)))
        f = status_line(h, lambda f: f.get("held") == str(n))
        assert f, "the master never held them all"
        assert children_of(h.pid) == []
        grown = private_dirty_kib(h.pid) - base
        print(f"\n{n} held clients: master Private_Dirty +{grown} KiB "
              f"({grown * 1024 / n:.0f} bytes each), 1 process")
        assert grown * 1024 / n < 5 * 1024
        for s in socks:
            s.close()
        assert status_line(h, lambda f: f.get("held") == "0")
    finally:
        for s in socks:
            s.close()
        h.stop()
    assert count(h.logs(), "end=eof") == n


def test_children_hold_nothing_of_the_master(jail):
    h = DaemonHarness(jail, extra=["-H", "-o", "banner_delay=1"])
    try:
        a = dial(h)
        b = dial(h)         # held while a's child starts
        assert a.reply()[0] == 220
        kids = children_of(h.pid)
        assert len(kids) >= 1
        for kid in kids:
            fds = sorted(int(x) for x in os.listdir(f"/proc/{kid}/fd"))
            assert fds == [0, 1, 2], (kid, fds)
        assert b.reply()[0] == 220
        for s in (a, b):
            assert s.cmd("QUIT")[0] == 221
        h.wait()
    finally:
        h.stop()


def test_sigterm_lets_sessions_finish(jail):
    h = DaemonHarness(jail, extra=["-H", "-o", "banner_delay=1"])
    try:
        a = dial(h)
        assert a.reply()[0] == 220
        assert a.cmd("EHLO drain.example.org")[0] == 250
        assert a.cmd("MAIL FROM:<d@example.org>")[0] == 250
        held = dial(h)
        # accepted, not still in the backlog a stopping master closes
        assert status_line(h, lambda f: f.get("held") == "1")
        h.signal(signal.SIGTERM)
        code, lines = held.reply()
        assert code == 421 and "4.3.2" in lines[0], lines

        def refused():
            try:
                socket.create_connection(("127.0.0.1", h.port),
                                         timeout=2).close()
                return False
            except ConnectionRefusedError:
                return True
        assert wait_for(refused), "still accepting after SIGTERM"
        # the open session goes on to the end
        assert a.cmd("RCPT TO:<r@example.net>")[0] == 250
        assert a.cmd("DATA")[0] == 354
        a.send(b"Subject: drained\r\n\r\nbody\r\n.\r\n")
        assert a.reply()[0] == 250
        assert a.cmd("QUIT")[0] == 221
        assert h.proc.wait(timeout=10) == 0
    finally:
        h.stop()
    assert len(jail.spooled()) == 1
    assert count(h.logs(), "end=shutdown") == 1
    assert "event=daemon-exit" in h.logs()


def test_drain_timeout_and_second_sigterm(jail):
    h = DaemonHarness(jail, extra=["-H", "-o", "drain_timeout=1"])
    try:
        a = dial(h)
        assert a.reply()[0] == 220
        t0 = time.monotonic()
        h.signal(signal.SIGTERM)
        code, lines = a.reply()
        assert code == 421 and "4.3.2" in lines[0]
        assert 0.8 <= time.monotonic() - t0 < 5
        assert h.proc.wait(timeout=10) == 0
    finally:
        h.stop()
    h = DaemonHarness(jail, extra=["-H"])
    try:
        a = dial(h)
        assert a.reply()[0] == 220
        h.signal(signal.SIGTERM)
        time.sleep(0.3)
        assert h.proc.poll() is None, "did not wait for the session"
        t0 = time.monotonic()
        h.signal(signal.SIGTERM)
        code, lines = a.reply()
        assert code == 421 and time.monotonic() - t0 < 3
        assert h.proc.wait(timeout=10) == 0
    finally:
        h.stop()


class SwallowSignal:
    """Trace pid (ptrace, as root) and make it miss the first `sig` sent
    to it, as a child does that checked its stop flag just before the
    signal came and then blocked in its read. Every other signal goes
    through. All ptrace calls come from one thread: the tracer."""

    PTRACE_CONT = 7
    PTRACE_SEIZE = 0x4206
    WALL = 0x40000000

    def __init__(self, pid, sig):
        import ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long,
                                     ctypes.c_void_p, ctypes.c_void_p]
        self.pid = pid
        self.sig = sig
        self.swallowed = 0
        self.seized = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._trace, daemon=True)
        self.thread.start()
        assert self.seized.wait(5) and self.error is None, self.error

    def _cont(self, sig):
        import ctypes
        self.libc.ptrace(self.PTRACE_CONT, self.pid, None,
                         ctypes.c_void_p(sig))

    def _trace(self):
        import ctypes
        if self.libc.ptrace(self.PTRACE_SEIZE, self.pid, None, None) != 0:
            self.error = os.strerror(ctypes.get_errno())
            self.seized.set()
            return
        self.seized.set()
        while True:
            try:
                _, status = os.waitpid(self.pid, self.WALL)
            except ChildProcessError:
                return
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                return
            sig = os.WSTOPSIG(status)
            if sig == self.sig and self.swallowed == 0:
                self.swallowed += 1
                self._cont(0)
            else:
                self._cont(sig)


def test_a_child_that_misses_sigterm_gets_it_again(jail):
    # The drain is over and the master sends SIGTERM; the child misses it
    # (the tracer swallows it). It must still end with 421 about a second
    # later, at the master's next SIGTERM, not after its idle timeout.
    h = DaemonHarness(jail, extra=["-H", "-o", "drain_timeout=1", "-o",
                                   "idle_timeout=60"])
    try:
        a = dial(h, timeout=30)
        assert a.reply()[0] == 220
        tracer = SwallowSignal(h.last_pid(), signal.SIGTERM)
        t0 = time.monotonic()
        h.signal(signal.SIGTERM)
        code, lines = a.reply()
        assert code == 421 and "4.3.2" in lines[0], lines
        assert tracer.swallowed == 1
        assert 1.5 <= time.monotonic() - t0 < 10
        assert h.proc.wait(timeout=10) == 0
    finally:
        h.stop()


def decide(h, to):
    s = dial(h)
    assert s.reply()[0] == 220
    assert s.cmd("HELO hup.example.org")[0] == 250
    assert s.cmd("MAIL FROM:<h@example.org>")[0] == 250
    code = s.cmd(f"RCPT TO:<{to}>")[0]
    s.cmd("QUIT")
    s.close()
    return code


def test_sighup_reloads_or_keeps_the_old_rules(jail):
    jail.set_rules("noto:ALL:ALL:*@a.example\nallow:ALL:ALL:ALL\n")
    h = DaemonHarness(jail, extra=["-H"])
    try:
        early = dial(h)     # forked with the first rules
        assert early.reply()[0] == 220
        assert decide(h, "x@a.example") == 550
        assert decide(h, "x@b.example") == 250
        jail.set_rules("noto:ALL:ALL:*@b.example\nallow:ALL:ALL:ALL\n")
        h.signal(signal.SIGHUP)
        assert wait_for(lambda: "event=rules-reload" in h.logs())
        assert decide(h, "x@a.example") == 250
        assert decide(h, "x@b.example") == 550
        # the session that began before the reload keeps its rules
        assert early.cmd("HELO e.example.org")[0] == 250
        assert early.cmd("MAIL FROM:<e@example.org>")[0] == 250
        assert early.cmd("RCPT TO:<x@a.example>")[0] == 550
        assert early.cmd("QUIT")[0] == 221
        jail.set_rules("noto:ALL:ALL:*@c.example\nbroken line\n")
        h.signal(signal.SIGHUP)
        assert wait_for(lambda: "not reloaded" in h.logs())
        assert decide(h, "x@b.example") == 550
        assert decide(h, "x@c.example") == 250
        h.wait()
    finally:
        h.stop()
    logs = h.logs()
    assert "/etc/smtpd_check_rules:2:" in logs
    assert count(logs, "event=rules-reload") == 1


def build_table(path, pairs):
    """A Berkeley DB (.db) or CDB (.cdb) table, written aside and renamed
    into place as gkdb-build does."""
    tmp = path.with_name(path.name + ".new")
    text = "".join(f"{k}\n{v}\n" for k, v in pairs)
    if path.suffix == ".cdb":
        cmd = ["cdb", "-c", "-m", str(tmp)]
        text = "".join(f"{k} {v}\n" for k, v in pairs)
    else:
        cmd = ["db5.3_load", "-T", "-t", "hash", str(tmp)]
    subprocess.run(cmd, input=text, text=True, check=True)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def test_tables_shared_by_the_master_follow_their_files(jail):
    """The master opens the tables once for all children; a table
    replaced or removed under a running daemon is seen by the next
    session, without SIGHUP."""
    dbs = jail.path / "dbs"             # made by jail-setup
    build_table(dbs / "users.db", [("gone@hosted.example", "retired")])
    build_table(dbs / "senders.cdb", [("spam.example", "spammer")])
    jail.set_rules("noto:ALL:ALL:HASH=/dbs/users.db:550 5.1.1 %V\n"
                   "noto:ALL:/^x@/ EXCEPT CDB=/dbs/senders.cdb:ALL:"
                   "550 5.7.1 x\n"
                   "noto:ALL:CDB=/dbs/senders.cdb:ALL:550 5.7.1 %V\n"
                   "allow:ALL:ALL:ALL\n")
    h = DaemonHarness(jail, extra=["-H"])

    def fds_of(kids):
        """Open descriptors of each child still running (a zombie has
        none left to show)."""
        out = {}
        for kid in kids:
            try:
                out[kid] = {int(x): os.readlink(f"/proc/{kid}/fd/{x}")
                            for x in os.listdir(f"/proc/{kid}/fd")}
            except FileNotFoundError:
                continue            # already gone
        return {kid: fds for kid, fds in out.items() if fds}

    def rcpt(frm, to):
        s = dial(h)
        assert s.reply()[0] == 220
        kids = children_of(h.pid)
        assert s.cmd("HELO share.example.org")[0] == 250
        assert s.cmd(f"MAIL FROM:<{frm}>")[0] == 250
        code, lines = s.cmd(f"RCPT TO:<{to}>")
        fds = fds_of(kids)          # while this session's child runs
        s.cmd("QUIT")
        s.close()
        return (code, " ".join(lines)), fds

    try:
        (code, text), kids = rcpt("a@spam.example", "b@example.org")
        assert (code, "spammer" in text) == (550, True)
        # the child kept the Berkeley DB file's descriptor, nothing else
        assert kids
        for kid, fds in kids.items():
            extra = [t for fd, t in fds.items() if fd > 2]
            assert [t.endswith("/dbs/users.db") for t in extra] == [True], \
                (kid, fds)
        assert rcpt("a@ok.example", "gone@hosted.example")[0][0] == 550
        assert rcpt("x@ok.example", "b@example.org")[0][0] == 550
        build_table(dbs / "users.db", [("old@hosted.example", "moved")])
        build_table(dbs / "senders.cdb", [("ok.example", "now listed")])
        assert rcpt("a@fine.example", "gone@hosted.example")[0][0] == 250
        (code, text), _ = rcpt("a@fine.example", "old@hosted.example")
        assert (code, "moved" in text) == (550, True)
        (code, text), _ = rcpt("a@ok.example", "b@example.org")
        assert (code, "now listed" in text) == (550, True)
        (dbs / "senders.cdb").unlink()
        time.sleep(1.2)             # the master has looked again
        assert rcpt("a@ok.example", "b@example.org")[0][0] == 451
        build_table(dbs / "senders.cdb", [("spam.example", "spammer")])
        assert rcpt("a@ok.example", "b@example.org")[0][0] == 250
        h.wait()
    finally:
        h.stop()
    logs = h.logs()
    assert "event=rules-reload" not in logs
    assert count(logs, "senders.cdb") >= 1


def test_broken_rules_refuse_to_start(jail):
    jail.set_rules("allow:ALL:ALL:ALL\nbogus:ALL:ALL:ALL\n")
    h = DaemonHarness(jail, expect_start=False)
    try:
        assert h.proc.wait(timeout=10) == 111
    finally:
        h.stop(check=False)
    logs = h.logs()
    assert "/etc/smtpd_check_rules:2:" in logs
    assert "not starting" in logs
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", h.port), timeout=2)


def test_unsafe_jail_refused(jail):
    os.chmod(jail.path, 0o777)
    h = DaemonHarness(jail, expect_start=False)
    try:
        assert h.proc.wait(timeout=10) == 111
    finally:
        h.stop(check=False)
    assert "unsafe jail" in h.logs()
    assert "event=daemon-start" not in h.logs()


def test_pid_file_is_locked(jail):
    h = DaemonHarness(jail, extra=["-H"])
    try:
        assert h.pidfile.read_text() == f"{h.pid}\n"
        argv = [str(smtpd_binary()), "-D", "-l", "-c", str(jail.path), "-u",
                TEST_USER, "-g", TEST_GROUP, "-b", "127.0.0.1", "-p",
                str(free_port()), "-i", str(h.pidfile)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                           env=smtpd_env())
        assert p.returncode == 111, p.stderr
        assert f"another smtpd, pid {h.pid}, holds it" in p.stderr
        assert h.pidfile.read_text() == f"{h.pid}\n"
    finally:
        h.stop()


@pytest.mark.parametrize("where", ["jail", "host"])
def test_syslog_and_dns_from_the_jail(jail, resolver, where):
    """No -l: every line goes to syslog, a private rsyslogd either on the
    jail's dev/log (reached after the chroot) or on a /dev/log of its own
    (reached before: the children must keep that socket, they could not
    reconnect from the jail). Children resolve with the servers the
    master read before the chroot: the jail's resolv.conf names the
    machine's resolver, which does not know example.test."""
    jail.set_rules("noto:ALL:MX=mx1.example.test:ALL:550 5.7.1 sender MX "
                   "refused\nallow:ALL:ALL:ALL\n")
    h = DaemonHarness(jail, syslog=where, servers=resolver)
    try:
        s = dial(h)
        assert s.reply()[0] == 220
        assert s.cmd("HELO dns.example.org")[0] == 250
        assert s.cmd("MAIL FROM:<a@example.test>")[0] == 250
        code, lines = s.cmd("RCPT TO:<r@example.net>")
        assert code == 550 and "sender MX refused" in lines[0]
        assert s.cmd("RSET")[0] == 250
        assert s.cmd("MAIL FROM:<b@mci.test>")[0] == 250
        assert s.cmd("RCPT TO:<r@example.net>")[0] == 250
        assert s.cmd("QUIT")[0] == 221
        h.wait()
    finally:
        h.stop()
    logs = h.logs()
    assert f"smtpd[{h.pid}]: event=daemon-start" in logs
    assert "noto by line 1 of /etc/smtpd_check_rules" in logs
    assert "event=session ip=127.0.0.1" in logs
    if where == "host":
        assert not (jail.path / "dev" / "log").exists()
