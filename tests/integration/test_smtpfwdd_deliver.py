# test_smtpfwdd_deliver.py - smtpfwdd delivers spool files: the sendmail
# argument vector and environment, batches, the Maildir target, prompt
# pick-up, the lock, the status report, and the signals.
# Spool files are written in the documented format (docs/spool.5) by
# fwdspool.py, as smtpd writes them; the sendmail is fake-sendmail.
# SPDX-License-Identifier: BSD-2-Clause

import os
import re
import signal
import statistics
import subprocess
import time
from pathlib import Path

from fwdfixtures import fwd  # noqa: F401 (fixture)
from fwdspool import (FAKE_SENDMAIL, fake_records, make_id, message,
                      parse_maildir, spool_files, wait_until)


def spool_empty(env):
    return not spool_files(env.spool, "new") and \
        not spool_files(env.spool, "work")


def test_argv_env_and_body(fwd):
    mid = fwd.write(sender="<alice@example.org>",
                    rcpts=["<bob@test.example>", "<carol@test.example>"])
    msg = message(mid)
    d = fwd.start(fwd.sendmail_args())
    wait_until(lambda: spool_empty(fwd), what="delivery")
    runs = fake_records(fwd.ctl)
    assert len(runs) == 1
    assert runs[0]["argv"] == [str(FAKE_SENDMAIL), str(fwd.ctl), "-oi",
                               "-f", "alice@example.org", "--",
                               "bob@test.example", "carol@test.example"]
    assert runs[0]["body"] == msg
    # A clean environment: only PATH (and what the shell sets itself).
    env = set(runs[0]["env"]) - {"PWD", "OLDPWD", "SHLVL", "_"}
    assert env == {"PATH"}, runs[0]["env"]
    assert runs[0]["env"]["PATH"] == "/usr/sbin:/usr/bin:/sbin:/bin"
    assert d.stop() == 0
    log = fwd.log()
    assert "event=sent id=%s to=<bob@test.example> via=sendmail" % mid in log
    assert "event=done id=%s" % mid in log
    assert not spool_files(fwd.spool, "hold")


def test_env_option(fwd):
    fwd.write()
    d = fwd.start(fwd.sendmail_args("-e", "MAIL_CONFIG=/x/y", "-e",
                                    "PATH=/bin:/usr/bin"))
    wait_until(lambda: spool_empty(fwd), what="delivery")
    env = fake_records(fwd.ctl)[0]["env"]
    assert env["MAIL_CONFIG"] == "/x/y" and env["PATH"] == "/bin:/usr/bin"
    assert d.stop() == 0


def test_batches(fwd):
    rcpts = ["<r%d@test.example>" % i for i in range(5)]
    mid = fwd.write(rcpts=rcpts)
    d = fwd.start(fwd.sendmail_args("-b", "2"))
    wait_until(lambda: spool_empty(fwd), what="delivery")
    runs = fake_records(fwd.ctl)
    got = sorted(tuple(r["argv"][r["argv"].index("--") + 1:]) for r in runs)
    assert got == [("r0@test.example", "r1@test.example"),
                   ("r2@test.example", "r3@test.example"),
                   ("r4@test.example",)]
    assert all(r["body"] == message(mid) for r in runs)
    assert d.stop() == 0
    assert fwd.log().count("event=sent id=%s" % mid) == 5


def test_null_and_dash_addresses(fwd):
    fwd.write(sender="<>", rcpts=["<-oQ/tmp@test.example>"])
    fwd.write(sender="<-oQ/tmp@example.org>",
              rcpts=["<\"quoted x\"@test.example>", "<postmaster>",
                     "<a+b#c&d~e?f{g}@[192.0.2.7]>"])
    d = fwd.start(fwd.sendmail_args())
    wait_until(lambda: spool_empty(fwd), what="delivery")
    runs = sorted((r["argv"][2:] for r in fake_records(fwd.ctl)), key=len)
    assert runs[0] == ["-oi", "-f", "<>", "--", "-oQ/tmp@test.example"]
    # Legal addresses pass unchanged; a sender starting with '-' is
    # given in its equivalent quoted form, never as an option.
    assert runs[1] == ["-oi", "-f", '"-oQ/tmp"@example.org', "--",
                       '"quoted x"@test.example', "postmaster",
                       "a+b#c&d~e?f{g}@[192.0.2.7]"]
    assert d.stop() == 0


def test_maildir_target(fwd):
    body = b"Line one.\n.leading dot\n\xe9t\xe9 8-bit\n\x00nul\nno newline"
    m1 = fwd.write(sender="<alice@example.org>",
                   rcpts=["<bob@test.example>", "<carol@test.example>"],
                   msg=None)
    mid2 = "1795000000-000001-1-1"
    msg2 = message(mid2, body=body)
    fwd.write(sender="<>", rcpts=["<dave@test.example>"], msg=msg2, mid=mid2)
    d = fwd.start(fwd.maildir_args())
    wait_until(lambda: spool_empty(fwd), what="delivery")
    got = sorted(parse_maildir(fwd.maildir))
    assert [(a, b) for a, b, _ in got] == [
        ("bob@test.example", "alice@example.org"),
        ("carol@test.example", "alice@example.org"),
        ("dave@test.example", "")]
    assert got[0][2] == message(m1) and got[1][2] == message(m1)
    assert got[2][2] == msg2
    assert d.stop() == 0


def test_prompt_pickup(fwd):
    """New files are found at once (inotify), not by the 60 s scan."""
    d = fwd.start(fwd.maildir_args("-P", "3600"))
    delays = []
    for i in range(20):
        t0 = time.monotonic()
        fwd.write(rcpts=["<r%d@test.example>" % i])
        wait_until(lambda: len(parse_maildir(fwd.maildir)) == i + 1,
                   step=0.001, what="message %d" % i)
        delays.append(time.monotonic() - t0)
    assert statistics.median(delays) < 1.0, delays     # the scan: 3600 s
    assert d.stop() == 0


def test_one_daemon_per_spool(fwd):
    d = fwd.start(fwd.maildir_args())
    p = subprocess.run([str(fwd.exe), "-l", "-d", str(fwd.spool)] +
                       fwd.maildir_args(), capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 111
    assert "already running in %s (pid %d)" % (fwd.spool, d.proc.pid) in \
        p.stderr
    assert d.stop() == 0


def test_resume_work_with_sent_marks(fwd):
    """A file left in work/ by a crash, one recipient already SENT."""
    mid = fwd.write(rcpts=["<a@test.example>", "<b@test.example>"],
                    states=["SENT", "RCPT"], where="work")
    d = fwd.start(fwd.sendmail_args())
    wait_until(lambda: spool_empty(fwd), what="delivery")
    runs = fake_records(fwd.ctl)
    assert [r["argv"][-1] for r in runs] == ["b@test.example"]
    assert d.stop() == 0
    assert "resumed=1" in fwd.log() and "event=done id=%s" % mid in fwd.log()


def test_locked_message_is_backed_off(fwd):
    """A message another process keeps locked is retried with a growing
    delay (5 s, then 10 s, ...), with no attempt counted, and delivered
    once the lock is gone."""
    import fcntl
    mid = fwd.write(where="work")
    f = open(fwd.spool / "work" / mid, "rb")
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
        d = fwd.start(fwd.maildir_args("-R", "600"))
        wait_until(lambda: "event=busy id=%s times=1 retry_in=5" % mid
                   in fwd.log(), what="the first busy")
        wait_until(lambda: "times=2 retry_in=10" in fwd.log(), timeout=10,
                   what="the second busy, 5 s later")
        time.sleep(6)
        assert "times=3" not in fwd.log(), "not backed off"
    finally:
        f.close()
    wait_until(lambda: spool_empty(fwd), timeout=15, what="delivery")
    assert d.stop() == 0
    assert "attempts=1" in fwd.log()


def test_status_report(fwd):
    fwd.mode("rcpt")
    held = fwd.write(rcpts=["<exit67@test.example>"])
    deferred = fwd.write(rcpts=["<exit75@test.example>"])
    d = fwd.start(fwd.sendmail_args("-r", "300", "-R", "600"))
    wait_until(lambda: (fwd.spool / "hold" / held).exists() and
               (fwd.spool / "work" / (deferred + ".defer")).exists(),
               what="hold and defer")
    st = fwd.status()
    assert st["daemon"] == "running, pid %d" % d.proc.pid
    assert (st["queue"], st["new"], st["work"], st["deferred"],
            st["held"]) == ("1", "0", "1", "1", "1")
    assert st["oldest"].startswith(deferred + " age ")
    assert ("held %s: 1 of 1 recipients failed permanently: sendmail "
            "exited 67 (EX_NOUSER)" % held) in st["_text"]
    # SIGUSR1: the same counts as a log line, once both workers are gone.
    assert "event=status new=0 work=1 active=0 deferred=1 held=1 " \
        "oldest=%s" % deferred in d.idle()
    assert d.stop() == 0
    assert fwd.status()["daemon"] == "not running"


def test_sighup_retries_deferred_now(fwd):
    fwd.mode("75")
    mid = fwd.write()
    d = fwd.start(fwd.sendmail_args("-r", "600", "-R", "600"))
    wait_until(lambda: "event=deferred id=%s" % mid in fwd.log(),
               what="deferral")
    assert "retry_in=600" in fwd.log()
    fwd.mode("0")
    # One SIGHUP, at once: it may land while the worker is still
    # recording the deferral, and must count then too. With retry_in=600
    # nothing else can deliver the message within the wait.
    d.signal(signal.SIGHUP)
    wait_until(lambda: spool_empty(fwd), what="delivery after SIGHUP")
    # The master forgets the retry state when it reaps the worker, just
    # after the message file is gone: wait for that too.
    defer = fwd.spool / "work" / (mid + ".defer")
    wait_until(lambda: not defer.exists(), what="the retry state removed")
    assert d.stop() == 0


def test_sigterm_lets_deliveries_finish(fwd):
    fwd.mode("slow")
    ids = [fwd.write() for _ in range(6)]
    d = fwd.start(fwd.sendmail_args("-M", "3"))
    wait_until(lambda: len(fake_records(fwd.ctl, finished=False)) >= 3,
               what="deliveries in flight")
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 5
    log = fwd.log()
    # Three in flight when the test asked; one of 0.3 s may have ended
    # before the master read its SIGTERM.
    assert re.search(r"event=stopping active=[123]\b", log), log
    assert "event=stopped" in log
    assert "event=interrupted" not in log
    finished = len(fake_records(fwd.ctl))
    assert finished >= 3
    # Nothing lost: the rest waits in the spool for the next start.
    left = spool_files(fwd.spool, "new") + spool_files(fwd.spool, "work")
    assert len(left) == len(ids) - finished
    fwd.mode("0")
    d2 = fwd.start(fwd.sendmail_args())
    wait_until(lambda: spool_empty(fwd), what="the rest")
    assert d2.stop() == 0
    assert len(fake_records(fwd.ctl)) == len(ids)


def test_second_sigterm_interrupts(fwd):
    fwd.mode("hang")
    mid = fwd.write()
    d = fwd.start(fwd.sendmail_args("-t", "600"))
    # Started means its pid written: fake-sendmail records argv first.
    wait_until(lambda: [p for p in (fwd.ctl / "runs").glob("*.pid")
                        if p.read_text().strip()], what="sendmail started")
    d.signal(signal.SIGTERM)
    wait_until(lambda: "event=stopping" in fwd.log(), what="stopping")
    t0 = time.monotonic()
    assert d.stop() == 0    # the second SIGTERM
    assert time.monotonic() - t0 < 5
    assert "event=interrupted id=%s" % mid in fwd.log()
    # Retried, not lost: still in work/, and no attempt counted.
    assert spool_files(fwd.spool, "work") == [mid]
    assert not (fwd.spool / "work" / (mid + ".defer")).exists()
    # The hung sendmail was killed with its worker.
    pids = [int(p.read_text()) for p in (fwd.ctl / "runs").glob("*.pid")]
    assert len(pids) == 1

    def gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie of an exited parent is gone too
        try:
            return Path("/proc/%d/stat" % pid).read_text().split()[2] == "Z"
        except OSError:
            return True
    wait_until(lambda: gone(pids[0]), what="the hung sendmail killed")


def test_worker_killed_at_stop_counts_no_attempt(fwd):
    """A worker that cannot act on the stop's SIGTERM (here it is
    stopped with SIGSTOP) is killed 5 s later; its message waits in
    work/ for the next start, with no attempt counted."""
    fwd.mode("hang")
    mid = fwd.write()
    d = fwd.start(fwd.sendmail_args("-t", "600"))
    wait_until(lambda: fake_records(fwd.ctl, finished=False),
               what="sendmail started")
    workers = [int(p.name) for p in Path("/proc").iterdir()
               if p.name.isdigit() and ppid_of(int(p.name)) == d.proc.pid]
    assert len(workers) == 1, workers
    os.kill(workers[0], signal.SIGSTOP)
    d.signal(signal.SIGTERM)
    wait_until(lambda: "event=stopping" in fwd.log(), what="stopping")
    assert d.stop() == 0    # the second SIGTERM; SIGKILL 5 s later
    log = fwd.log()
    assert "event=interrupted id=%s signal=9" % mid in log, log
    assert "worker-died" not in log
    assert spool_files(fwd.spool, "work") == [mid]
    assert not (fwd.spool / "work" / (mid + ".defer")).exists()
    fwd.mode("0")
    d2 = fwd.start(fwd.sendmail_args())
    wait_until(lambda: spool_empty(fwd), what="delivered at the next start")
    assert d2.stop() == 0


def ppid_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def test_ctrl_c_reaches_master_only(fwd):
    """^C at a terminal signals the foreground process group: workers
    and sendmail are in their own groups, so only the master hears it
    and lets them finish."""
    fwd.mode("slow")
    fwd.write()
    d = fwd.start(fwd.sendmail_args())
    wait_until(lambda: fake_records(fwd.ctl, finished=False),
               what="sendmail started")
    assert os.getpgid(d.proc.pid) == d.proc.pid
    os.killpg(d.proc.pid, signal.SIGINT)
    assert d.proc.wait(10) == 0
    assert len(fake_records(fwd.ctl)) == 1
    assert spool_empty(fwd)


def test_unprivileged_files(fwd):
    """Work files and state stay private to smtpfwdd's user."""
    fwd.mode("75")
    mid = fwd.write()
    d = fwd.start(fwd.sendmail_args("-r", "300", "-R", "600"))
    st = Path(fwd.spool / "work" / (mid + ".defer"))
    wait_until(st.exists, what="state file")
    assert st.stat().st_mode & 0o077 == 0
    assert (fwd.spool / "work" / ".smtpfwdd.pid").stat().st_uid == \
        fwd.ids[0]
    assert "ATTEMPTS 1\n" in st.read_text()
    assert d.stop() == 0


def test_startup_removes_only_debris(fwd):
    """At start-up, files a crash can leave behind are removed: work/ID.tmp,
    a work/ID.defer or hold/ID.why whose message is gone. A held message
    and its reason stay, and so does anything that is not ID.suffix."""
    fwd.mode("0")
    held = fwd.write(where="hold")
    ids = [make_id() for _ in range(3)]
    keep = {"hold": [held, held + ".why", "README"],
            "work": ["notes.txt.old"]}
    debris = {"work": [ids[0] + ".tmp", ids[1] + ".defer"],
              "hold": [ids[2] + ".why"]}
    for where, names in list(keep.items()) + list(debris.items()):
        for n in names:
            if n != held:
                (fwd.spool / where / n).write_text("x\n")
    d = fwd.start(fwd.sendmail_args())
    d.idle()
    for where, names in keep.items():
        for n in names:
            assert (fwd.spool / where / n).exists(), n
    for where, names in debris.items():
        for n in names:
            assert not (fwd.spool / where / n).exists(), n
    assert d.stop() == 0
    assert not fake_records(fwd.ctl)
