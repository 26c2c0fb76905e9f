# test_smtpfwdd_faults.py - what smtpfwdd does when things go wrong: each
# sysexits code of sendmail, a sendmail that hangs or is killed, the
# retry schedule, the queue lifetime, hostile spool files, and SIGKILL
# of the daemon at random moments during a 1,000-message run.
# SPDX-License-Identifier: BSD-2-Clause

import collections
import errno
import os
import random
import re
import signal
import subprocess
import threading
import time

import pytest

from fwdfixtures import IS_ROOT, chown_tree, fwd  # noqa: F401 (fixture)
from fwdspool import (FAKE_SENDMAIL, envelope, fake_records, make_id,
                      make_spool, message, parse_maildir, spool_files,
                      wait_logged, wait_until)

# sysexits(3) codes and what smtpfwdd(8) says they mean.
PERM = {64: "EX_USAGE", 65: "EX_DATAERR", 67: "EX_NOUSER", 68: "EX_NOHOST",
        76: "EX_PROTOCOL", 77: "EX_NOPERM"}
TEMP = {66: "EX_NOINPUT", 69: "EX_UNAVAILABLE", 70: "EX_SOFTWARE",
        71: "EX_OSERR", 72: "EX_OSFILE", 73: "EX_CANTCREAT", 74: "EX_IOERR",
        75: "EX_TEMPFAIL", 78: "EX_CONFIG", 1: "unknown", 127: "unknown"}


def spool_empty(env):
    return not spool_files(env.spool, "new") and \
        not spool_files(env.spool, "work")


def test_every_sysexits_code(fwd):
    """Permanent codes hold the message (with the reason), temporary
    ones leave it in work/ with a retry time; nothing is removed."""
    fwd.mode("rcpt")
    ids = {}
    for code in list(PERM) + list(TEMP):
        ids[code] = fwd.write(rcpts=["<exit%d@test.example>" % code])
    ok = fwd.write(rcpts=["<fine@test.example>"])
    d = fwd.start(fwd.sendmail_args("-r", "300", "-R", "600"))

    # Workers run in parallel: the good message is one more outcome to
    # wait for, not one that is sure to come first.
    def settled():
        return all((fwd.spool / "hold" / ids[c]).exists() for c in PERM) and \
            all((fwd.spool / "work" / (ids[c] + ".defer")).exists()
                for c in TEMP) and \
            not (fwd.spool / "new" / ok).exists() and \
            not (fwd.spool / "work" / ok).exists()
    wait_until(settled, what="every outcome")
    assert not (fwd.spool / "hold" / ok).exists()
    log = wait_logged(fwd, "event=done id=%s" % ok,
                      *("event=held id=%s" % ids[c] for c in PERM),
                      *("event=deferred id=%s" % ids[c] for c in TEMP))
    for code, name in PERM.items():
        why = (fwd.spool / "hold" / (ids[code] + ".why")).read_text()
        assert "sendmail exited %d (%s)" % (code, name) in why
        assert re.search(r"event=held id=%s reason=\"1 of 1 recipients "
                         r"failed permanently: sendmail exited %d \(%s\)" %
                         (ids[code], code, name), log)
        assert "event=failed id=%s to=<exit%d@test.example>" % (ids[code],
                                                               code) in log
    for code, name in TEMP.items():
        assert not (fwd.spool / "hold" / ids[code]).exists()
        assert re.search(r"event=deferred id=%s pending=1 attempts=1 "
                         r"retry_in=300 reason=\"sendmail exited %d \(%s\)" %
                         (ids[code], code, name), log), code
    assert "event=done id=%s" % ok in log
    assert d.stop() == 0


def cpu_seconds(pid):
    """utime + stime of a running process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_fork_failure_does_not_spin(fwd):
    """While fork() fails, the master waits for its retry instead of
    spinning on the arrivals it cannot start; once fork works again they
    are delivered. fork() fails here by its user's process limit: the
    daemon runs with RLIMIT_NPROC 4 and four other processes of that
    user exist until the test ends them."""
    d = fwd.start(fwd.maildir_args(), wrapper=["prlimit", "--nproc=4:4"])
    pid = d.proc.pid
    uid, gid = fwd.ids
    others = [subprocess.Popen(["sleep", "60"], user=uid, group=gid,
                               extra_groups=[]) for _ in range(4)]
    try:
        for i in range(3):
            fwd.write(rcpts=["<f%d@test.example>" % i])
        wait_until(lambda: ": fork" in d.log(), what="a failed fork logged")
        cpu0 = cpu_seconds(pid)
        time.sleep(3)
        used = cpu_seconds(pid) - cpu0
        assert used < 0.5, f"{used:.2f} s of CPU in 3 s while fork fails"
        assert len(parse_maildir(fwd.maildir)) == 0
    finally:
        for p in others:
            p.kill()
            p.wait()
    wait_until(lambda: len(parse_maildir(fwd.maildir)) == 3,
               what="the three messages")
    assert d.stop() == 0


def test_retry_backoff_then_success(fwd):
    """First retry after -r, doubling, capped at -R; then delivered."""
    fwd.mode("75")
    mid = fwd.write()
    d = fwd.start(fwd.sendmail_args("-r", "1", "-R", "2"))
    wait_until(lambda: fwd.log().count("event=deferred id=%s pending" % mid)
               >= 3,
               timeout=15, what="three attempts")
    fwd.mode("0")
    wait_until(lambda: spool_empty(fwd), timeout=10, what="delivery")
    log = wait_logged(fwd, "event=done id=%s" % mid)
    tries = re.findall(r"event=deferred id=%s pending=1 attempts=(\d+) "
                       r"retry_in=(\d+)" % mid, log)
    assert tries[:3] == [("1", "1"), ("2", "2"), ("3", "2")]
    assert "event=done id=%s from=<alice@example.org> rcpts=1 attempts=" % \
        mid in log
    # The master forgets the retry state when it reaps the worker.
    defer = fwd.spool / "work" / (mid + ".defer")
    wait_until(lambda: not defer.exists(), what="the retry state removed")
    assert d.stop() == 0


def test_hang_and_kill_are_temporary(fwd):
    fwd.mode("rcpt")
    hang = fwd.write(rcpts=["<hang@test.example>"])
    kill = fwd.write(rcpts=["<kill@test.example>"])
    d = fwd.start(fwd.sendmail_args("-t", "1", "-r", "300", "-R", "600"))
    wait_until(lambda: all((fwd.spool / "work" / (i + ".defer")).exists()
                           for i in (hang, kill)), what="both deferred")
    log = wait_logged(fwd, "event=deferred id=%s" % hang,
                      "event=deferred id=%s" % kill)
    assert re.search(r"event=deferred id=%s .*reason=\"sendmail timed out "
                     r"after 1 s, killed\"" % hang, log)
    assert re.search(r"event=deferred id=%s .*reason=\"sendmail killed by "
                     r"signal 9\"" % kill, log)
    assert not spool_files(fwd.spool, "hold")
    assert d.stop() == 0


def test_stderr_in_reason(fwd):
    fwd.mode("stderr 67")
    mid = fwd.write()
    d = fwd.start(fwd.sendmail_args())
    wait_until(lambda: (fwd.spool / "hold" / mid).exists(), what="hold")
    assert "sendmail exited 67 (EX_NOUSER): fake-sendmail: refused by " \
        "test" in (fwd.spool / "hold" / (mid + ".why")).read_text()
    assert d.stop() == 0


def test_missing_sendmail_is_temporary(fwd):
    fwd.mode("0")
    mid = fwd.write()
    wrapper = fwd.base / "sm"
    wrapper.write_text("#!/bin/sh\nexec %s \"$@\"\n" % FAKE_SENDMAIL)
    wrapper.chmod(0o755)
    d = fwd.start(fwd.sendmail_args("-s", str(wrapper), "-r", "1"))
    # Wait until it has gone once, then take the program away.
    wait_until(lambda: spool_empty(fwd), what="first delivery")
    wrapper.unlink()
    mid = fwd.write()
    wait_until(lambda: "cannot execute %s: No such file" % wrapper in
               fwd.log(), what="exec failure")
    assert d.proc.poll() is None        # the master lives on
    wrapper.write_text("#!/bin/sh\nexec %s \"$@\"\n" % FAKE_SENDMAIL)
    wrapper.chmod(0o755)
    wait_until(lambda: spool_empty(fwd), timeout=10, what="retry")
    wait_logged(fwd, "event=done id=%s" % mid)
    assert d.stop() == 0


def test_queue_lifetime(fwd):
    fwd.mode("75")
    old = fwd.write(when=int(time.time()) - 7200)
    young = fwd.write()
    d = fwd.start(fwd.sendmail_args("-L", "3600", "-r", "300", "-R", "600"))
    wait_until(lambda: (fwd.spool / "hold" / old).exists() and
               (fwd.spool / "work" / (young + ".defer")).exists(),
               what="hold of the old message")
    why = (fwd.spool / "hold" / (old + ".why")).read_text()
    assert why.startswith("queue lifetime exceeded: 72")
    assert "last error: sendmail exited 75 (EX_TEMPFAIL)" in why
    assert d.stop() == 0


def test_partial_failure(fwd):
    """Batch 1 sent, batch 2 refused for good, batch 3 sent: the file
    is held with SENT and FAIL marks, so a release resends nothing."""
    fwd.mode("rcpt")
    mid = fwd.write(rcpts=["<a@test.example>", "<exit67@test.example>",
                           "<c@test.example>"])
    d = fwd.start(fwd.sendmail_args("-b", "1"))
    wait_until(lambda: (fwd.spool / "hold" / mid).exists(), what="hold")
    data = (fwd.spool / "hold" / mid).read_bytes()
    assert b"\nSENT <a@test.example>\nFAIL <exit67@test.example>\n" \
        b"SENT <c@test.example>\n" in data
    assert "1 of 3 recipients failed permanently" in \
        (fwd.spool / "hold" / (mid + ".why")).read_text()
    assert len(fake_records(fwd.ctl)) == 3
    assert d.stop() == 0


def hostile_files(env):
    """(name, bytes) of spool files that must be held, never delivered."""
    files = []

    def add(label, sender="<alice@example.org>", rcpts=("<b@test.example>",),
            env_bytes=None, msg=None, mid=None, size=None):
        mid = mid or make_id()
        msg = message(mid) if msg is None else msg
        if env_bytes is None:
            env_bytes = envelope(mid, sender, list(rcpts),
                                 len(msg) if size is None else size)
        files.append((label, mid, env_bytes + msg))

    add("option as recipient", rcpts=["<-oQ/tmp>"])
    add("option as sender", sender="<-oQ/tmp>")
    add("option with blank", rcpts=["<-oQ/tmp -C/etc/x@test.example>"])
    mid = make_id()
    msg = message(mid)
    e = envelope(mid, "<alice@example.org>", ["<b@test.example>"], len(msg))
    add("newline in address", mid=mid, msg=msg,
        env_bytes=e.replace(b"RCPT <b@test.example>",
                            b"RCPT <b@test.example\n-oQ/tmp>"))
    mid = make_id()
    msg = message(mid)
    e = envelope(mid, "<alice@example.org>", ["<b@test.example>"], len(msg))
    add("NUL in address", mid=mid, msg=msg,
        env_bytes=e.replace(b"<b@test.example>", b"<b@te\0st.example>"))
    add("10,000 recipients",
        rcpts=["<r%d@test.example>" % i for i in range(10000)])
    add("1 MB line", rcpts=["<" + "x" * (1 << 20) + "@test.example>"])
    add("source route", rcpts=["<@relay.example:b@test.example>"])
    add("bad domain", rcpts=["<b@-test.example>"])
    mid = make_id()
    add("truncated", mid=mid, msg=message(mid), size=len(message(mid)) + 10)
    mid = make_id()
    msg = message(mid)
    add("unknown version", mid=mid, msg=msg,
        env_bytes=envelope(mid, "<a@b.example>", ["<b@test.example>"],
                           len(msg)).replace(b"VERSION 1", b"VERSION 2"))
    mid = make_id()
    add("no header", mid=mid, msg=b"not a header line\n\nbody\n")
    mid = make_id()
    add("NUL in header", mid=mid,
        msg=message(mid, headers=b"X-Evil: a\0b\n"))
    mid = make_id()
    add("mail loop", mid=mid,
        msg=message(mid, headers=b"Received: from x\n" * 120))
    return files


def test_hostile_files_are_held(fwd):
    """A spool file with a malicious envelope is held with a log line
    and never reaches sendmail's argv; a legal address that merely
    looks like an option goes after "--" only."""
    files = hostile_files(fwd)
    for label, mid, data in files:
        path = fwd.spool / "tmp" / mid
        path.write_bytes(data)
        os.chown(path, *fwd.ids)
        os.rename(path, fwd.spool / "new" / mid)
    # Things that are not files, and a name that is not the ID.
    os.symlink("/etc/passwd", fwd.spool / "new" / "1795000000-1-1-1")
    os.mkfifo(fwd.spool / "new" / "1795000000-1-1-2")
    good = fwd.write(rcpts=["<-oQ/tmp@test.example>"])
    named = "1795000000-1-1-3"
    fwd.write(name=named)       # its ID line says otherwise
    os.lchown(fwd.spool / "new" / "1795000000-1-1-1", *fwd.ids)
    os.chown(fwd.spool / "new" / "1795000000-1-1-2", *fwd.ids)
    d = fwd.start(fwd.sendmail_args())
    held = [m for _, m, _ in files] + ["1795000000-1-1-1", "1795000000-1-1-2",
                                       named]
    wait_until(lambda: all((fwd.spool / "hold" / m).exists() for m in held)
               and spool_empty(fwd), what="every hostile file held",
               log=lambda: fwd.log() + str(os.listdir(fwd.spool / "new")) +
               str(os.listdir(fwd.spool / "work")))
    log = wait_logged(fwd, "event=done id=%s" % good,
                      *("event=held id=%s " % m for _, m, _ in files))
    for label, mid, _ in files:
        assert re.search(r"event=held id=%s reason=\"[^\"]+\"" % mid, log), \
            label
    assert (fwd.spool / "hold" / "1795000000-1-1-1").is_symlink()
    why = {label: (fwd.spool / "hold" / (mid + ".why")).read_text().strip()
           for label, mid, _ in files}
    assert why["option as recipient"] == "recipient 1: address without " \
        "@domain"
    assert why["option as sender"] == "FROM: address without @domain"
    assert why["10,000 recipients"] == "too many recipients"
    assert why["1 MB line"] == "envelope line too long"
    assert why["NUL in address"] == "control or 8-bit byte in envelope"
    assert why["unknown version"] == "unsupported spool version"
    assert why["mail loop"] == \
        "message: too many Received header fields (mail loop?)"
    assert "ID line differs from the file name" in \
        (fwd.spool / "hold" / (named + ".why")).read_text()
    # sendmail ran once, for the legal address, with it after "--".
    runs = fake_records(fwd.ctl, finished=False)
    assert [r["argv"][1:] for r in runs] == [
        [str(fwd.ctl), "-oi", "-f", "alice@example.org", "--",
         "-oQ/tmp@test.example"]]
    assert "event=done id=%s" % good in log
    assert d.stop() == 0


KILL_MESSAGES = 1000
KILL_CHILDREN = 8


def test_sigkill_at_random_moments(fwd, capsys):
    """1,000 messages (2 recipients, one batch each) arrive while the
    daemon is killed with SIGKILL at random moments and restarted.
    Every message must arrive at least once; duplicates are counted:
    at most one batch per delivery in flight at each kill."""
    rng = random.Random(int(os.environ.get("FWD_KILL_SEED", "20261123")))
    args = fwd.maildir_args("-b", "1", "-M", str(KILL_CHILDREN), "-P", "1")
    ids = []
    done = threading.Event()

    def writer():
        for i in range(KILL_MESSAGES):
            ids.append(fwd.write(rcpts=["<a%d@test.example>" % i,
                                        "<b%d@test.example>" % i]))
            if i % 50 == 0:
                time.sleep(0.01)
        done.set()

    d = fwd.start(args)
    t = threading.Thread(target=writer)
    t.start()
    kills = 0
    t_end = time.monotonic() + 60
    while kills < 8 and time.monotonic() < t_end:
        time.sleep(rng.uniform(0.02, 0.3))
        d.kill()
        kills += 1
        d = fwd.start(args)
    t.join()
    wait_until(lambda: spool_empty(fwd), timeout=60, what="all delivered")
    assert d.stop() == 0
    count = collections.Counter()
    for rcpt, _, data in parse_maildir(fwd.maildir):
        mid = re.search(rb"Message-ID: <([^@]+)@test>", data).group(1)
        count[(mid.decode(), rcpt)] += 1
    expected = {(m, "%s%d@test.example" % (p, i))
                for i, m in enumerate(ids) for p in "ab"}
    missing = expected - set(count)
    dups = sum(n - 1 for n in count.values())
    with capsys.disabled():
        print("\nsmtpfwdd SIGKILL test: %d messages, %d deliveries expected, "
              "%d kills, %d missing, %d duplicates" %
              (KILL_MESSAGES, len(expected), kills, len(missing), dups))
    report = fwd.base.parent / "smtpfwdd-kill-report.txt"
    report.write_text("messages=%d deliveries=%d kills=%d missing=%d "
                      "duplicates=%d\n" % (KILL_MESSAGES, len(expected),
                                           kills, len(missing), dups))
    assert not missing
    assert set(count) == expected
    assert dups <= kills * KILL_CHILDREN
    assert not spool_files(fwd.spool, "hold")


def test_release_from_hold(fwd):
    """smtpfwdd -U: FAIL lines become RCPT again, the message gets a
    fresh lifetime, and the running daemon delivers it at once."""
    import subprocess
    fwd.mode("rcpt")
    mid = fwd.write(rcpts=["<a@test.example>", "<exit67@test.example>"])
    old = fwd.write(rcpts=["<exit75@test.example>"],
                    when=int(time.time()) - 7200)
    d = fwd.start(fwd.sendmail_args("-b", "1", "-L", "3600"))
    wait_until(lambda: (fwd.spool / "hold" / mid).exists() and
               (fwd.spool / "hold" / old).exists(), what="two holds")
    d.idle()    # a worker still holding a file's lock would keep it held
    assert len(fake_records(fwd.ctl)) == 3
    fwd.mode("0")
    p = subprocess.run([str(fwd.exe), "-U", "-d", str(fwd.spool)] +
                       fwd.user_args() + [mid, old, "no-such-id"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 100, p.stdout + p.stderr
    assert "%s: released" % mid in p.stdout
    assert "%s: released" % old in p.stdout
    assert "no-such-id: not released" in p.stdout
    wait_until(lambda: spool_empty(fwd) and
               not spool_files(fwd.spool, "hold"),
               what="both delivered", log=fwd.log)
    runs = fake_records(fwd.ctl)
    # a@ was sent before the hold and is not sent again.
    got = sorted(r["argv"][-1] for r in runs)
    assert got == ["a@test.example", "exit67@test.example",
                   "exit67@test.example", "exit75@test.example",
                   "exit75@test.example"]
    assert not list((fwd.spool / "hold").iterdir())
    assert d.stop() == 0


def test_release_before_the_reap_keeps_its_fresh_lifetime(fwd):
    """smtpfwdd -U can release a message after its worker held it but
    before the master reaped that worker (here the master is stopped
    meanwhile): the master then takes the fresh lifetime -U wrote. Else
    the old message, deferred once, would be held again at once as past
    its lifetime."""
    fwd.mode("slow 67")
    old = fwd.write(when=int(time.time()) - 7200)
    d = fwd.start(fwd.sendmail_args("-L", "3600", "-r", "300", "-R", "600"))
    wait_until(lambda: fake_records(fwd.ctl, finished=False),
               what="sendmail started")
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: (fwd.spool / "hold" / old).exists(),
                   what="held while the master is stopped")
        fwd.mode("75")

        def release():
            p = subprocess.run([str(fwd.exe), "-U", "-d", str(fwd.spool)] +
                               fwd.user_args() + [old], capture_output=True,
                               text=True, timeout=10)
            return "%s: released" % old in p.stdout    # once the worker
        wait_until(release, step=0.1, what="the release")  # has exited
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    wait_logged(fwd, "event=deferred id=%s" % old)
    assert (fwd.spool / "work" / (old + ".defer")).exists()
    assert not (fwd.spool / "hold" / old).exists()
    assert fwd.log().count("event=held id=%s" % old) == 1
    assert d.stop() == 0


def test_full_spool_disk_still_delivers(fwd):
    """The private copy of a message is made in work/, on the spool's
    disk; when that disk is full (smtpd filled it, and answers 452), the
    copy is made in memory, since delivering is what frees the disk. A
    restart on the full disk works too (the pid is written in place)."""
    if not IS_ROOT:
        pytest.fail("needs root, to mount a small file system as the spool",
                    pytrace=False)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=750",
                    "gk-full-spool", str(fwd.spool)], check=True)
    try:
        make_spool(fwd.spool)
        chown_tree(fwd.spool, fwd.ids)
        mid = fwd.write(msg=message("x", body=b"y" * 200000), where="tmp")
        assert fwd.start(fwd.sendmail_args()).stop() == 0
        with open(fwd.spool / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
        d = fwd.start(fwd.sendmail_args())
        os.rename(fwd.spool / "tmp" / mid, fwd.spool / "new" / mid)
        wait_until(lambda: spool_empty(fwd), what="delivery", log=fwd.log)
        log = wait_logged(fwd, "event=done id=%s" % mid)
        assert "no room for its copy in work/; copying in memory" in log
        runs = fake_records(fwd.ctl)
        assert len(runs) == 1 and runs[0]["body"].endswith(b"y" * 200000)
        assert d.stop() == 0
    finally:
        fwd.close()
        subprocess.run(["umount", "-l", str(fwd.spool)], check=True)
