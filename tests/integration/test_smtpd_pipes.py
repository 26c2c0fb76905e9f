# test_smtpd_pipes.py - smtpd in inetd mode on descriptors that are not
# sockets: they are read under poll() (conn.c), where a socket is read
# under a receive timeout. No harness: the protocol suite's variants
# (xinetd, daemon) have nothing to change here.
# SPDX-License-Identifier: BSD-2-Clause

import subprocess
import threading
import time

from smtpd_fixtures import SpoolFile, check_stderr, smtpd_argv, smtpd_env
from test_smtpd_protocol import MESSAGE, stored
from test_smtpd_protocol import jail  # noqa: F401 - the suite's fixture


def test_pipes_are_served_and_timed_out(jail):
    """Descriptors that are not sockets (a launcher that passes pipes,
    with the peer in TCPREMOTEIP as tcpserver sets it) are read under
    poll() rather than a receive timeout: a message is accepted, and a
    client that then says nothing is cut off at the idle timeout."""
    env = smtpd_env({"TCPREMOTEIP": "192.0.2.7"})
    p = subprocess.Popen(smtpd_argv(jail, ["-o", "idle_timeout=2"]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    watchdog = threading.Timer(30, p.kill)
    watchdog.start()
    try:
        p.stdin.write(b"EHLO pipe.example.org\r\n"
                      b"MAIL FROM:<alice@example.org>\r\n"
                      b"RCPT TO:<bob@example.net>\r\n"
                      b"DATA\r\n" +
                      MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        p.stdin.flush()
        t0 = time.monotonic()
        out = p.stdout.read()       # to smtpd's exit; stdin stays open
        elapsed = time.monotonic() - t0
        err = p.stderr.read()
        assert p.wait(timeout=10) == 0
    finally:
        watchdog.cancel()
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdin.close()
    text = err.decode(errors="replace")
    check_stderr(text)
    codes = [line[:3] for line in out.decode().split("\r\n")
             if line[:3].isdigit() and line[3:4] == " "]
    assert codes == ["220", "250", "250", "250", "354", "250", "421"], out
    assert 1.5 <= elapsed < 15
    assert "Timeout on read (more than 2 seconds)" in text
    assert "end=timeout" in text
    files = [SpoolFile(f) for f in jail.spooled()]
    assert len(files) == 1 and files[0].message == stored(MESSAGE)
