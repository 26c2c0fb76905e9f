# test_smtpd_priv.py - the privilege drop, seen from outside. While a
# session is open, /proc/<pid>/status and /proc/<pid>/root of the smtpd
# child must show the test user's uid, gid and only its group, and the
# jail as root directory; its own debug log line reports that setuid(0)
# failed. smtpd must refuse to start with a jail or spool that others
# can write, and refuse uid 0.
# SPDX-License-Identifier: BSD-2-Clause

import os
import subprocess

import pytest

from conftest import ROOT
from smtpd_fixtures import (TEST_FWD, TEST_GROUP, TEST_USER, InetdHarness,
                            Jail, OneShot, connect, smtpd_argv, smtpd_env)


@pytest.fixture
def jail():
    j = Jail()
    yield j
    j.remove()


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def test_dropped_while_session_open(jail):
    h = InetdHarness(jail)
    try:
        s = connect(h)
        assert s.reply()[0] == 220      # the drop happened before this
        assert s.cmd("EHLO priv.example.org")[0] == 250
        pid = h.last_pid()
        st = proc_status(pid)
        uid, gid = str(jail.uid), str(jail.gid)
        assert st["Uid"] == [uid] * 4, st["Uid"]
        assert st["Gid"] == [gid] * 4, st["Gid"]
        assert st["Groups"] == [gid], st["Groups"]
        assert st["CapEff"] == ["0000000000000000"], st["CapEff"]
        assert st["CapPrm"] == ["0000000000000000"], st["CapPrm"]
        assert os.readlink(f"/proc/{pid}/root") == str(jail.path)
        assert os.readlink(f"/proc/{pid}/cwd") == str(jail.path)
        assert s.cmd("QUIT")[0] == 221
    finally:
        h.stop()
    logs = h.logs()
    line = [ln for ln in logs.splitlines() if "event=privileges" in ln]
    assert line, logs
    assert (f"uid={jail.uid} euid={jail.uid} suid={jail.uid} "
            f"gid={jail.gid} egid={jail.gid} sgid={jail.gid} groups=1 "
            f"group0={jail.gid} jail={jail.path} cwd=/ setuid0=refused"
            in line[0]), line[0]


def refused(jail, extra=(), env=None):
    """smtpd must not start: 421 to the client, status 111, a log line."""
    run = OneShot(jail, extra=extra, env=dict({"SMTPD_PEER_IP": "192.0.2.1"},
                                              **(env or {})))
    code, lines = run.s.reply()
    log = run.finish()
    assert code == 421, lines
    assert run.proc.returncode == 111, log
    assert "fatal:" in log, log
    return log


def test_refuses_world_writable_jail(jail):
    os.chmod(jail.path, 0o777)
    try:
        log = refused(jail)
    finally:
        os.chmod(jail.path, 0o755)
    assert "writable by group or others" in log


def test_refuses_jail_not_owned_by_root(jail):
    os.chown(jail.path, jail.uid, 0)
    try:
        log = refused(jail)
    finally:
        os.chown(jail.path, 0, 0)
    assert "not owned by root" in log


def test_refuses_world_writable_spool(jail):
    os.chmod(jail.new, 0o777)
    try:
        log = refused(jail)
    finally:
        os.chmod(jail.new, 0o770)
    assert "writable by others" in log


def test_refuses_root_user(jail):
    argv = smtpd_argv(jail)
    argv[argv.index("-u") + 1] = "root"
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       env=smtpd_env({"SMTPD_PEER_IP": "192.0.2.1"}),
                       timeout=30)
    assert p.returncode == 111
    assert b"refusing to run as uid 0" in p.stderr


def test_refuses_unknown_group(jail):
    argv = smtpd_argv(jail)
    argv[argv.index("-g") + 1] = "no-such-group-here"
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       env=smtpd_env({"SMTPD_PEER_IP": "192.0.2.1"}),
                       timeout=30)
    assert p.returncode == 111
    assert b"unknown group" in p.stderr


def jail_setup(path):
    return subprocess.run(
        ["sh", str(ROOT / "scripts" / "jail-setup"), "-u", TEST_USER, "-g",
         TEST_GROUP, "-f", TEST_FWD, str(path)], capture_output=True,
        text=True)


def test_jail_setup_refuses_a_jail_that_is_not_roots(jail):
    """What another user's directory holds may be links that chown and
    cp would follow: jail-setup does not take it over."""
    other = jail.base / "other"
    other.mkdir()
    os.chown(other, jail.uid, jail.gid)
    p = jail_setup(other)
    assert p.returncode != 0 and "not owned by root" in p.stderr, p.stderr
    assert other.stat().st_uid == jail.uid
    link = jail.base / "link"
    link.symlink_to(jail.path)
    p = jail_setup(link)
    assert p.returncode != 0 and "symbolic link" in p.stderr, p.stderr


def test_jail_setup_does_not_follow_a_planted_trigger(jail):
    """A link planted as spool/trigger (to a FIFO of root's, as
    /run/initctl is) must not hand its target to the forwarder's user:
    jail-setup refuses, and the target is untouched."""
    victim = jail.base / "victim"
    os.mkfifo(victim, 0o600)
    trigger = jail.path / "spool" / "trigger"
    trigger.unlink()
    trigger.symlink_to(victim)
    p = jail_setup(jail.path)
    assert p.returncode != 0 and "not a FIFO" in p.stderr, p.stderr
    st = victim.stat()
    assert st.st_uid == 0 and (st.st_mode & 0o777) == 0o600
    trigger.unlink()
    p = jail_setup(jail.path)                 # repaired: a FIFO again
    assert p.returncode == 0, p.stderr
    assert trigger.is_fifo()
