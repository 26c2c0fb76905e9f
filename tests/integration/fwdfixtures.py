# fwdfixtures.py - pytest fixtures for the smtpfwdd tests: a private
# spool, a sendmail stand-in's control directory and a Maildir, owned by
# the unprivileged user smtpfwdd runs as (nobody when the tests run as
# root, as `make check` does), and a runner for the daemon.
# SPDX-License-Identifier: BSD-2-Clause

import grp
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import gk_build, need_binary
from fwdspool import (FAKE_SENDMAIL, Fwd, fake_control, make_spool,
                      write_spool)

IS_ROOT = os.geteuid() == 0
RUN_USER = "nobody"


def run_ids(user=RUN_USER, group=None):
    """(uid, gid) the daemon runs as."""
    if IS_ROOT:
        pw = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
        return pw.pw_uid, gid
    return os.geteuid(), os.getegid()


def chown_tree(path, ids):
    if not IS_ROOT:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, *ids)
        for n in dirs + files:
            os.lchown(os.path.join(root, n), *ids)


def daemon_env():
    """The daemon's environment. LeakSanitizer cannot stop the world
    of a process that changed its uid (it is no longer dumpable), so
    leaks are checked by the unit tests, not here."""
    env = {"PATH": "/usr/bin:/bin"}
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    return env


class FwdEnv:
    """One test's spool, stand-in control dir, Maildir and daemon."""

    def __init__(self, base, user=RUN_USER, group=None):
        self.base = Path(base)
        os.chmod(self.base, 0o755)
        self.user = user
        self.group = group
        self.ids = run_ids(user, group)
        self.spool = make_spool(self.base / "spool")
        self.ctl = self.base / "ctl"
        fake_control(self.ctl, "0")
        self.maildir = self.base / "maildir"
        chown_tree(self.base, self.ids)
        self.exe = need_binary(gk_build() / "bin" / "smtpfwdd")
        self.daemons = []

    def user_args(self):
        if not IS_ROOT:
            return []
        return ["-u", self.user] + (["-g", self.group] if self.group else [])

    def write(self, **kw):
        kw.setdefault("owner", self.ids)
        return write_spool(self.spool, **kw)

    def mode(self, mode):
        fake_control(self.ctl, mode)
        chown_tree(self.ctl, self.ids)

    def sendmail_args(self, *extra):
        return self.user_args() + ["-s", str(FAKE_SENDMAIL), "-a",
                                   str(self.ctl), "-r", "1", "-R", "2",
                                   "-t", "5"] + list(extra)

    def maildir_args(self, *extra):
        return self.user_args() + ["-m", str(self.maildir), "-r", "1",
                                   "-R", "2"] + list(extra)

    def start(self, args, wrapper=()):
        d = Fwd(self.exe, self.spool, args, env=daemon_env(),
                logfile=self.base / ("smtpfwdd%d.log" % len(self.daemons)),
                wrapper=wrapper)
        self.daemons.append(d)
        return d.start()

    def log(self):
        return "".join(d.log() for d in self.daemons)

    def status(self):
        p = subprocess.run([str(self.exe), "-S", "-d", str(self.spool)],
                           capture_output=True, text=True, timeout=10,
                           env=daemon_env())
        assert p.returncode == 0, p.stderr
        out = {}
        for line in p.stdout.splitlines():
            k, _, v = line.partition(": ")
            out.setdefault(k, v)
        out["_text"] = p.stdout
        return out

    def close(self):
        for d in self.daemons:
            if d.proc is not None and d.proc.poll() is None:
                d.kill()
        for d in self.daemons:
            assert "Sanitizer" not in d.log(), d.log()
            assert "runtime error" not in d.log(), d.log()


@pytest.fixture
def fwd(scratch):
    env = FwdEnv(scratch)
    yield env
    env.close()


__all__ = ["FwdEnv", "fwd", "IS_ROOT", "RUN_USER", "run_ids", "chown_tree",
           "daemon_env", "shutil"]
