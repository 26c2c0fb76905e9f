# smtpd_harness.py - smtpd started the two ways operators start it, for
# the integration tests: under a real xinetd (inetd mode), and as its
# own daemon (-D). Both harnesses have the interface of smtpd_fixtures'
# InetdHarness (port, wait(), logs(), last_pid(), stop()), so the same
# test functions run against each (test_smtpd_xinetd_*.py and
# test_smtpd_daemon_*.py re-run test_smtpd_protocol/priv/ident).
#
# Logs: under xinetd, descriptor 2 of smtpd is the client's connection,
# so smtpd logs to syslog, as in production. A private rsyslogd (Syslog)
# listens on the jail's dev/log, the socket INSTALL tells operators to
# give the jail; smtpd connects to it after the chroot. If the machine
# has a /dev/log of its own, the server runs in a private mount namespace
# with our socket bound over /dev/log, so no line goes to the machine's
# log. Every peer runs in the foreground as our child and is stopped and
# confirmed gone by its PID.
# SPDX-License-Identifier: BSD-2-Clause

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from smtpd_fixtures import (MYNAME, SESSION_TIMEOUT, TEST_GROUP, TEST_USER,
                            check_stderr, smtpd_binary, smtpd_env)

START_TIMEOUT = 15.0


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid):
    """PIDs of pid's children, zombies included: every process whose
    parent is pid (/proc/PID/stat). The kernel's own list of a task's
    children (/proc/PID/task/TID/children) may miss some while the
    process runs, which made a wait for "no children" end early."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue            # gone meanwhile
        # pid (comm) state ppid ...; comm may hold blanks and parens
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(name))
    return sorted(out)


def start_time(pid):
    """A process's start time in clock ticks (field 22 of stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return -1


def gone(pid, timeout):
    """True once pid no longer exists (or is a zombie of someone else)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def newest_child(pid, timeout=5):
    """The most recently started child of pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = children_of(pid)
        if kids:
            return max(kids, key=lambda k: (start_time(k), k))
        time.sleep(0.01)
    raise AssertionError(f"no child of {pid} appeared")


def task_state(pid):
    """What a process is doing, for a test that found it stuck: its
    state, the system call it is in and where the kernel has it."""
    out = []
    for name in ("stat", "syscall", "wchan", "stack"):
        try:
            with open(f"/proc/{pid}/{name}") as f:
                text = f.read().strip()
        except OSError as e:
            text = f"({e.strerror})"
        if name == "stat":
            text = " ".join(text.split()[:3])
        out.append(f"{name}: {text}")
    return "; ".join(out)


def wait_children(pid, timeout=SESSION_TIMEOUT):
    """Wait until pid has no children left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not children_of(pid):
            return
        time.sleep(0.02)
    raise AssertionError(f"children of {pid} still running: "
                         f"{children_of(pid)}")


def namespaced(argv, socket_path, force=False):
    """argv run so that /dev/log, if the machine has one, is our socket
    (a private mount namespace; the same PID, since nothing forks). With
    force, also when the machine has none: the namespace gets a /dev of
    its own (a tmpfs with null and log), so that smtpd finds syslog
    before its chroot, as on a production host."""
    if not force and not os.path.exists("/dev/log"):
        return list(argv)
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare (util-linux) is needed to give smtpd a "
                    "private /dev/log", pytrace=False)
    if os.path.exists("/dev/log"):
        script = 'mount --bind "$0" /dev/log || exit 111; exec "$@"'
    else:
        script = ('mount -t tmpfs -o mode=755 gk-dev /dev && '
                  'mknod -m 666 /dev/null c 1 3 && : >/dev/log && '
                  'mount --bind "$0" /dev/log || exit 111; exec "$@"')
    return [unshare, "--mount", "--propagation", "private", "--", "sh",
            "-c", script, str(socket_path)] + list(argv)


class Syslog:
    """A private rsyslogd on socket_path writing "prog[pid]: msg" lines
    to a file. text() returns everything logged so far: it sends a marker
    through the same socket and waits for it, so every line sent before
    the call is in."""

    def __init__(self, socket_path):
        rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
        if not os.access(rsyslogd, os.X_OK):
            pytest.fail("rsyslogd is not installed (scripts/install-deps)",
                        pytrace=False)
        self.dir = Path(tempfile.mkdtemp(prefix="gk-rsyslog-"))
        self.socket = Path(socket_path)
        self.file = self.dir / "maillog"
        self.pidfile = self.dir / "rsyslogd.pid"
        (self.dir / "work").mkdir()
        conf = self.dir / "rsyslog.conf"
        conf.write_text(f"""\
global(workDirectory="{self.dir / 'work'}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{self.socket}" CreatePath="on"
      RateLimit.Interval="0")
template(name="plain" type="string"
         string="%programname%[%procid%]:%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n")
*.* action(type="omfile" file="{self.file}" template="plain")
""")
        self.proc = subprocess.Popen(
            [rsyslogd, "-n", "-f", str(conf), "-i", str(self.pidfile)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.marks = 0
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.socket.is_socket():
                try:
                    self.text(timeout=2)
                    return
                except AssertionError:
                    pass
            time.sleep(0.02)
        err = self.proc.stderr.read().decode(errors="replace") \
            if self.proc.poll() is not None else ""
        self.stop()
        pytest.fail(f"rsyslogd did not start: {err}", pytrace=False)

    def text(self, timeout=10):
        self.marks += 1
        mark = f"gk-syslog-mark-{os.getpid()}-{self.marks}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(str(self.socket))
            s.send(f"<22>gkmark[0]: {mark}".encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.file.read_text(errors="replace")
            except OSError:
                data = ""
            if mark in data:
                return "".join(ln + "\n" for ln in data.splitlines()
                               if not ln.startswith("gkmark["))
            time.sleep(0.02)
        raise AssertionError("rsyslogd did not write the marker")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert gone(self.proc.pid, 5)
        shutil.rmtree(self.dir, ignore_errors=True)


class XinetdHarness:
    """A real xinetd (-dontfork -f conf -pidfile) on 127.0.0.1:<port>,
    running the smtpd binary in inetd mode for each connection."""

    def __init__(self, jail, extra=(), env=None, servers=None,
                 instances=200):
        xinetd = shutil.which("xinetd") or "/usr/sbin/xinetd"
        if not os.access(xinetd, os.X_OK):
            pytest.fail("xinetd is not installed (scripts/install-deps)",
                        pytrace=False)
        self.jail = jail
        self.dir = Path(tempfile.mkdtemp(prefix="gk-xinetd-"))
        self.port = free_port()
        self.syslog = Syslog(jail.path / "dev" / "log")
        args = ["-v", "-c", str(jail.path), "-u", TEST_USER, "-g",
                TEST_GROUP, "-m", MYNAME] + list(extra)
        for a in args:
            assert a and not any(c.isspace() for c in a), \
                f"xinetd cannot pass {a!r} as one argument"
        e = smtpd_env(env, servers)
        keep = ("DNSCACHEIP", "TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS") + \
            tuple(k for k in (env or {}))
        envline = " ".join(f"{k}={e[k]}" for k in keep if k in e)
        self.pidfile = self.dir / "xinetd.pid"
        self.conf = self.dir / "xinetd.conf"
        self.conf.write_text(f"""\
defaults
{{
    log_type = FILE {self.dir / 'xinetd.log'}
}}
service gk-smtpd-test
{{
    type         = UNLISTED
    socket_type  = stream
    protocol     = tcp
    wait         = no
    user         = root
    bind         = 127.0.0.1
    port         = {self.port}
    server       = {smtpd_binary()}
    server_args  = {" ".join(args)}
    env          = {envline}
    instances    = {instances}
    per_source   = UNLIMITED
    cps          = 100000 1
    flags        = REUSE
    log_type     = FILE {self.dir / 'xinetd.log'}
    disable      = no
}}
""")
        argv = namespaced([xinetd, "-dontfork", "-f", str(self.conf),
                           "-pidfile", str(self.pidfile)],
                          self.syslog.socket)
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.saved_logs = None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self._listening():
                return
            time.sleep(0.02)
        err = self.proc.stderr.read().decode(errors="replace") \
            if self.proc.poll() is not None else ""
        self.stop()
        pytest.fail(f"xinetd did not start: {err}", pytrace=False)

    def _listening(self):
        """xinetd holds our port (seen in /proc/net/tcp: no connection is
        made, so the check starts no session)."""
        try:
            with open("/proc/net/tcp") as f:
                rows = [ln.split() for ln in f.readlines()[1:]]
        except OSError:
            return False
        return any(len(r) > 3 and r[1].endswith(f":{self.port:04X}") and
                   r[3] == "0A" for r in rows)

    def last_pid(self, timeout=5):
        return newest_child(self.proc.pid, timeout)

    def wait(self, timeout=SESSION_TIMEOUT):
        wait_children(self.proc.pid, timeout)
        return []

    def logs(self):
        if self.saved_logs is not None:
            return self.saved_logs
        return self.syslog.text()

    def stop(self):
        if self.proc.poll() is None:
            try:
                wait_children(self.proc.pid)
            finally:
                self.saved_logs = self.syslog.text()
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        assert gone(self.proc.pid, 5), "xinetd did not stop"
        if self.saved_logs is None:
            self.saved_logs = ""
        self.syslog.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        check_stderr(self.saved_logs)


class DaemonHarness:
    """smtpd -D on 127.0.0.1:<port> (and more, with listen=), logging to
    standard error (a file); or with syslog="jail" through a private
    rsyslogd on the jail's dev/log (and on /dev/log if the machine has
    one); or with syslog="host" through a private rsyslogd that only a
    private /dev/log reaches, connected before the chroot, so that the
    children must log through the socket they inherit."""

    def __init__(self, jail, extra=(), env=None, servers=None,
                 listen=("127.0.0.1",), syslog=None,
                 defaults=("-o", "max_per_ip=100"), expect_start=True,
                 port=None):
        self.jail = jail
        self.dir = Path(tempfile.mkdtemp(prefix="gk-daemon-"))
        self.port = port or free_port()
        self.pidfile = self.dir / "smtpd.pid"
        self.logfile = self.dir / "smtpd.log"
        self.syslog = None
        if syslog == "jail":
            self.syslog = Syslog(jail.path / "dev" / "log")
        elif syslog == "host":
            self.syslog = Syslog(self.dir / "log")
        else:
            assert syslog is None, syslog
        argv = [str(smtpd_binary()), "-D", "-v", "-c", str(jail.path),
                "-u", TEST_USER, "-g", TEST_GROUP, "-m", MYNAME, "-p",
                str(self.port), "-i", str(self.pidfile)]
        if not syslog:
            argv.append("-l")
        for a in listen:
            argv += ["-b", a]
        argv += list(defaults) + list(extra)
        self.argv = argv
        if syslog:
            argv = namespaced(argv, self.syslog.socket,
                              force=syslog == "host")
        self.log = open(self.logfile, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.log,
                                     env=smtpd_env(env, servers))
        self.pid = self.proc.pid
        self.saved_logs = None
        if not expect_start:
            return
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if "event=daemon-start" in self.logs():
                return
            time.sleep(0.02)
        logs = self.logs()
        self.stop(check=False)
        pytest.fail(f"smtpd -D did not start:\n{logs}", pytrace=False)

    def children(self):
        return children_of(self.pid)

    def last_pid(self, timeout=5):
        return newest_child(self.pid, timeout)

    def wait(self, timeout=SESSION_TIMEOUT):
        wait_children(self.pid, timeout)
        return []

    def logs(self):
        if self.saved_logs is not None:
            return self.saved_logs
        text = self.logfile.read_text(errors="replace")
        if self.syslog is not None:
            text += self.syslog.text()
        return text

    def signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, check=True, timeout=SESSION_TIMEOUT):
        """SIGTERM (sessions may finish), then wait for the exit by PID;
        with check, the exit status must be 0 and the pid file empty."""
        status = self.proc.poll()
        stuck = ""
        if status is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kids = children_of(self.pid)
                stuck = "".join(f"\nchild {k}: {task_state(k)}"
                                for k in kids)
                self.proc.kill()
                self.proc.wait()
                for k in kids:
                    try:
                        os.kill(k, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                status = "killed"
        assert gone(self.pid, 5), "smtpd -D did not stop"
        self.log.close()
        self.saved_logs = None
        logs = self.logs()
        self.saved_logs = logs
        try:
            pid_text = self.pidfile.read_text()
        except OSError:
            pid_text = None
        if self.syslog is not None:
            self.syslog.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        if check:
            assert status == 0, f"smtpd -D exited {status}:{stuck}\n{logs}"
            assert pid_text == "", f"pid file left as {pid_text!r}"
            check_stderr(logs)
        return status
