# test_smtpfwdd_run.py - `make run`'s script (smtpfwdd/run/run-local):
# smtpd on a loopback port with the example rules, smtpfwdd delivering
# into a Maildir; a message sent with smtplib lands there, the example
# rules refuse what they say they refuse, and ^C (SIGINT to the process
# group, as a terminal sends it) stops both cleanly. It runs once as root
# (smtpd in its jail) and once as an ordinary user (smtpd -U).
# SPDX-License-Identifier: BSD-2-Clause

import os
import signal
import smtplib
import socket
import subprocess

import pytest

from conftest import ROOT, gk_build
from fwdspool import parse_maildir, wait_until


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("as_root", [True, False], ids=["root", "user"])
def test_make_run(scratch, as_root):
    if os.geteuid() != 0:
        pytest.fail("the tests run as root (and drop to nobody here)",
                    pytrace=False)
    os.chmod(scratch, 0o755)
    prefix = []
    if not as_root:
        os.chown(scratch, 65534, 65534)
        prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                  "--clear-groups", "--"]
    port = free_port()
    log = scratch / "run.log"
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    with open(log, "wb") as out:
        p = subprocess.Popen(prefix + ["/usr/bin/python3",
                              str(ROOT / "smtpfwdd" / "run" / "run-local"),
                              "--build", str(gk_build()), "--dir",
                              str(scratch / "run"), "--port", str(port)],
                             stdout=out, stderr=out, env=env,
                             stdin=subprocess.DEVNULL, process_group=0)
    try:
        wait_until(lambda: "Ctrl-C stops both" in log.read_text(),
                   what="the banner", log=log.read_text)
        text = log.read_text()
        assert "smtpd serves 127.0.0.1:%d" % port in text
        assert ("smtpd runs with -U" in text) == (not as_root)
        assert "smtplib.SMTP" in text and "Maildir/new/" in text
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            refused = s.sendmail("you@example.org",
                                 ["someone@example.net",
                                  "nobody@example.net"],
                                 b"Subject: hi\r\n\r\nhello\r\n")
        assert refused == {"nobody@example.net":
                           (550, b"5.1.1 no such user here")}
        maildir = scratch / "run" / "Maildir"
        got = wait_until(lambda: parse_maildir(maildir), what="delivery",
                         log=log.read_text)
        assert [(r, f) for r, f, _ in got] == [("someone@example.net",
                                                "you@example.org")]
        assert got[0][2].endswith(b"Subject: hi\n\nhello\n")
        os.killpg(p.pid, signal.SIGINT)         # what ^C does
        assert p.wait(30) == 0, log.read_text()
        text = log.read_text()
        assert "event=stopped" in text
        assert "stopped (smtpfwdd status 0)" in text
        assert "Sanitizer" not in text and "runtime error" not in text
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
