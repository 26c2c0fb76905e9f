# test_tools_mailblock.py - mailblock-update and the mailblock CGI on their
# own, over log files the test writes: thresholds kept across runs, the
# log position across rotation and truncation, expiry, protect and allow
# lists, CDB and HASH output, the lock, a static list, hostile request
# files; the CGI's checks, escaping, rate limits and privileges (run as
# www-data, as the web server runs it). test_tools_e2e.py does the same
# with smtpd, rsyslog, lighttpd and Chromium.
# SPDX-License-Identifier: BSD-2-Clause

import fcntl
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import gk_build, need_binary
from toolfixtures import SCRIPTS, run_tool, tool_env

NOW = int(time.time())
RULES = "/etc/smtpd_check_rules"


def stamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def decision(t, ip, kind, line, rcpt="<u@e2e.example>"):
    att = "" if kind == "allowed" else "attempted "
    return (f"{stamp(t)} mx smtpd[{100 + line}]: smtp connection from "
            f"UNKNOWN@UNKNOWN({ip}) {att}MAIL FROM: <a@b.example> RCPT TO: "
            f"{rcpt}, {kind} by line {line} of {RULES}\n")


class Box:
    """A config, state, spool, log and database in a temp dir."""

    def __init__(self, dbtype="ipblock", extra=""):
        self.dir = Path(tempfile.mkdtemp(prefix="gk-mailblock-"))
        os.chmod(self.dir, 0o755)
        self.log = self.dir / "mail.log"
        self.log.write_text("")
        self.state = self.dir / "state"
        self.spool = self.dir / "spool"
        (self.spool / "requests").mkdir(parents=True)
        self.db = self.dir / "norelayfromip"
        self.dbtype = dbtype
        self.actions = self.dir / "actions.log"
        self.conf = self.dir / "mailblock.conf"
        self.conf.write_text(
            f"maillog {self.log}\nstate {self.state}\nspool {self.spool}\n"
            f"database {self.db}\ntype {dbtype}\n"
            "threshold noto:4 5 unknown users\n"
            "threshold deny:7,denied-delay:8 2 listed by hand rules\n"
            "expire 7d\nwindow 1h\nallow_for 2d\n"
            f"log {self.actions}\n"
            f"logscan {gk_build() / 'bin' / 'logscan'}\n"
            f"gkdb_build {gk_build() / 'bin' / 'gkdb-build'}\n" + extra)
        os.chmod(self.conf, 0o644)

    def add(self, *lines):
        with open(self.log, "a") as f:
            f.writelines(lines)

    def run(self, *args, check=True):
        return run_tool(["mailblock-update", "-c", str(self.conf)] +
                        list(args), check=check)

    def entries(self):
        p = self.state / "entries"
        return {ln.split()[0]: ln for ln in p.read_text().splitlines()} \
            if p.exists() else {}

    def query(self, key):
        q = need_binary(gk_build() / "bin" / "gkdb-query")
        return run_tool([str(q), "-t", self.dbtype, str(self.db), key],
                        check=False).stdout

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def box():
    b = Box()
    yield b
    b.cleanup()


def noto(ip, n, t0=NOW - 600, line=4):
    return [decision(t0 + i, ip, "noto", line) for i in range(n)]


def test_threshold_across_runs_and_rotation(box):
    box.add(*noto("192.0.2.1", 3))
    out = box.run("-v").stdout
    assert "add" not in out and box.entries() == {}
    assert "192.0.2.1 noto:4 3 " in (box.state / "counts").read_text()
    # rotated (create mode): the old file keeps its inode as mail.log.1
    box.add(*noto("192.0.2.1", 1))
    os.rename(box.log, str(box.log) + ".1")
    box.log.write_text("")
    box.add(*noto("192.0.2.1", 2))
    out = box.run("-v").stdout
    assert "add 192.0.2.1: unknown users: 6 refusals of noto:4 " \
        "(threshold 5)" in out, out
    assert "192.0.2.1" in box.entries()
    assert "192.0.2.1/32 unknown users" in box.query("192.0.2.1")
    # nothing new: the same lines are not counted twice
    out = box.run("-v").stdout
    assert out == "", out
    # the old file gone (compressed): a note, and the new file is read
    box.add(*noto("192.0.2.2", 4))
    os.rename(box.log, str(box.log) + ".1")
    box.log.write_text("")
    box.add(*noto("192.0.2.2", 4))
    os.unlink(str(box.log) + ".1")
    out = box.run("-v").stdout
    assert "was rotated and its old file is gone" in out, out
    assert "192.0.2.2 noto:4 4 " in (box.state / "counts").read_text()
    # truncated in place (copytruncate): read from the start
    box.log.write_text("")
    box.add(*noto("192.0.2.2", 2))
    out = box.run("-v").stdout
    assert "add 192.0.2.2" in out, out
    assert "shorter than at the last run" in out
    # a half-written last line waits for the next run
    with open(box.log, "a") as f:
        f.write(noto("192.0.2.3", 1)[0][:50])
    box.run()
    with open(box.log, "a") as f:
        f.write(noto("192.0.2.3", 1)[0][50:])
    box.run()
    assert "192.0.2.3 noto:4 1 " in (box.state / "counts").read_text()


def test_dry_run_changes_nothing(box):
    box.add(*noto("192.0.2.9", 6))
    out = box.run("-d").stdout
    assert out.startswith("would add 192.0.2.9: unknown users: 6 refusals"), out
    assert "nothing was changed" in out
    assert not box.state.exists() and not box.db.exists()
    box.run()
    assert "192.0.2.9" in box.entries()


def test_kinds_lines_and_window(box):
    box.add(decision(NOW - 100, "192.0.2.20", "denied", 7),
            decision(NOW - 90, "192.0.2.20", "denied with delay", 8),
            decision(NOW - 80, "192.0.2.20", "denied", 9),
            decision(NOW - 70, "192.0.2.21", "denied", 7),
            decision(NOW - 60, "192.0.2.21", "noto", 7),
            *noto("192.0.2.22", 9, line=5))
    out = box.run("-v").stdout
    # deny:7 and denied-delay:8 add up for .20 (2 > ... no: more than 2)
    assert "192.0.2.20" not in box.entries(), out
    box.add(decision(NOW - 50, "192.0.2.20", "denied", 7))
    out = box.run("-v").stdout
    assert "add 192.0.2.20: listed by hand rules: 3 refusals of " \
        "deny:7,denied-delay:8" in out, out
    assert "192.0.2.21" not in box.entries()
    assert "192.0.2.22" not in box.entries()
    # pending counts older than the window are forgotten
    box.add(*noto("192.0.2.23", 5, t0=NOW - 7200))
    box.run()
    box.add(*noto("192.0.2.23", 1))
    box.run()
    assert "192.0.2.23" not in box.entries()
    c = (box.state / "counts").read_text()
    assert "192.0.2.23 noto:4 1 " in c, c


def test_expiry_refresh_and_protection(box):
    box.conf.write_text(box.conf.read_text() +
                        f"allowlist {box.dir / 'allow'}\n"
                        "protect 127.0.0.0/8 ::1 10.0.0.0/8\n")
    (box.dir / "allow").write_text("198.51.100.0/24 partner\n"
                                   "2001:db8:aaaa::/48\n")
    box.add(*noto("192.0.2.30", 6), *noto("192.0.2.31", 6),
            *noto("10.1.2.3", 20), *noto("198.51.100.5", 20),
            *noto("2001:db8:aaaa::5", 20), *noto("::1", 20),
            *noto("2001:db8:1::5", 6, t0=NOW - 300))
    out = box.run("-v").stdout
    for ip in ("10.1.2.3", "198.51.100.5", "2001:db8:aaaa::5", "::1"):
        assert f"skip {ip}: protected" in out, out
    assert set(box.entries()) == {"192.0.2.30", "192.0.2.31", "2001:db8:1::5"}
    assert "unknown users" in box.query("2001:db8:1::5")
    # .31 keeps refusing, later: its entry is refreshed
    box.add(*noto("192.0.2.31", 2, t0=NOW + 5 * 86400))
    box.run("-N", str(NOW + 5 * 86400 + 60))
    # eight days on: .30 expires, .31 (refused 3 days before) stays
    out = box.run("-v", "-N", str(NOW + 8 * 86400)).stdout
    assert "expire 192.0.2.30: last refusal" in out, out
    assert "192.0.2.30" not in box.entries()
    e = box.entries()["192.0.2.31"].split()
    assert int(e[3]) >= NOW + 5 * 86400 and e[4] == "8", e
    assert "not found" in box.query("192.0.2.30")
    # an address put on the allow list later is taken off the list
    (box.dir / "allow").write_text("192.0.2.31\n")
    out = box.run("-v", "-N", str(NOW + 8 * 86400)).stdout
    assert "remove 192.0.2.31: protected by 192.0.2.31" in out, out


@pytest.mark.parametrize("dbtype", ["cdb", "hash"])
def test_cdb_and_hash(dbtype):
    b = Box(dbtype)
    try:
        static = b.dir / "static"
        static.write_text("198.18.0.1 listed by hand\n")
        b.conf.write_text(b.conf.read_text() + f"static {static}\n")
        b.add(*noto("192.0.2.40", 6))
        b.run()
        assert "unknown users" in b.query("192.0.2.40")
        assert "listed by hand" in b.query("198.18.0.1")
        assert "not found" in b.query("192.0.2.41")
    finally:
        b.cleanup()


def test_lock_and_config_errors(box):
    box.state.mkdir()
    box.conf.write_text(box.conf.read_text() + "lock_wait 1\n")
    with open(box.state / "lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        env = tool_env()
        p = subprocess.run(
            ["sh", str(SCRIPTS / "mailblock-update"), "-c", str(box.conf)],
            capture_output=True, text=True, env=env, timeout=60)
        # flock -w lock_wait: give up; exit 75 for cron to try again later
        assert p.returncode == 75, (p.returncode, p.stderr)
    bad = box.dir / "bad.conf"
    for text, why in (("threshold noto:4\n", "threshold KINDS COUNT"),
                      ("threshold nosuch 5\n", "unknown kind"),
                      ("thresold noto 5\n", "unknown key thresold"),
                      ("threshold noto 5\nexpire soon\n", "expire"),
                      ("threshold noto 5\ntype gdbm\n", "type must be"),
                      ("", "no threshold")):
        bad.write_text(f"state {box.state}\n" + text)
        p = box.run("-c", str(bad), check=False)
        assert p.returncode == 100 and why in p.stderr, (text, p.stderr)


def request(box, name, text, mode=0o600):
    p = box.spool / "requests" / name
    p.write_text(text)
    os.chmod(p, mode)
    return p


def test_requests_are_checked(box):
    box.add(*noto("192.0.2.50", 6), *noto("192.0.2.51", 6))
    box.run()
    request(box, "req.1.1", "ip=192.0.2.50\nfrom=a@b\nremote=127.0.0.1\n"
            f"time={NOW}\n")
    request(box, "req.1.2", "ip=192.0.2.999\nremote=127.0.0.1\ntime=1\n")
    request(box, "req.1.3", "ip=192.0.2.51\nfrom=a b\nremote=1.2.3.4\n"
            "time=1\n")
    request(box, "req.1.4", "x" * 5000)
    request(box, "req.1.5", "ip=192.0.2.77\nremote=127.0.0.1\ntime=1\n")
    os.symlink("/etc/passwd", box.spool / "requests" / "req.1.6")
    request(box, ".tmp.9", "ip=192.0.2.51\nremote=127.0.0.1\ntime=1\n")
    out = box.run("-v").stdout
    assert "allow 192.0.2.50 until" in out, out
    assert "refuse request req.1.2: not a valid request" in out
    assert "refuse request req.1.3: not a valid request" in out
    assert "refuse request req.1.4: larger than 4096 bytes" in out
    assert "refuse request req.1.5 for 192.0.2.77 from 127.0.0.1: " \
        "not listed" in out
    assert sorted(p.name for p in (box.spool / "requests").iterdir()) == \
        [".tmp.9"]
    assert set(box.entries()) == {"192.0.2.51"}
    assert "not found" in box.query("192.0.2.50")
    # removals are limited per address (max_removals): the block lifted
    # once, the address listed again after its allow entry ended, and the
    # second request refused
    box.conf.write_text(box.conf.read_text() + "max_removals 1\n")
    later = NOW + 3 * 86400
    box.add(*noto("192.0.2.50", 6, t0=later))
    out = box.run("-v", "-N", str(later + 10)).stdout
    assert "end of the allow entry for 192.0.2.50" in out, out
    assert "add 192.0.2.50" in out, out
    request(box, "req.2.1", "ip=192.0.2.50\nremote=127.0.0.1\n"
            f"time={later}\n")
    out = box.run("-v", "-N", str(later + 20)).stdout
    assert "refuse request req.2.1 for 192.0.2.50 from 127.0.0.1: 1 " \
        "removals in the last 30 days; ask the postmaster" in out, out
    assert "192.0.2.50" in box.entries()


# --- the CGI, run as www-data in a CGI environment


def cgi(box, query="", method="GET", body=None, remote="127.0.0.1",
        ctype="application/x-www-form-urlencoded"):
    env = {"PATH": "/usr/bin:/bin", "MAILBLOCK_CONF": str(box.conf),
           "REQUEST_METHOD": method, "QUERY_STRING": query,
           "REMOTE_ADDR": remote, "GATEWAY_INTERFACE": "CGI/1.1",
           "ASAN_OPTIONS": "detect_leaks=0"}
    if body is not None:
        env["CONTENT_LENGTH"] = str(len(body))
        env["CONTENT_TYPE"] = ctype
    p = subprocess.run(
        ["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups",
         "sh", str(SCRIPTS / "mailblock")], input=(body or "").encode(),
        capture_output=True, env=env, timeout=30)
    assert p.returncode == 0, p.stderr
    head, _, page = p.stdout.decode().partition("\r\n\r\n")
    return head.split("\r\n")[0], head, page


@pytest.fixture
def cgibox(box):
    box.add(*noto("192.0.2.60", 6), *noto("2001:db8::60", 6))
    box.run()
    www = pwd.getpwnam("www-data")
    for d in (box.spool, box.spool / "requests"):
        os.chown(d, www.pw_uid, www.pw_gid)
    os.chmod(box.actions, 0o666)
    return box


def test_cgi_pages_and_escaping(cgibox):
    box = cgibox
    st, head, page = cgi(box, "DSL=192.0.2.60&From=%3Cjo%40example.org%3E")
    assert st == "Status: 200 OK"
    assert "Content-Security-Policy: default-src 'none'" in head
    assert "<h1>192.0.2.60 is blocked</h1>" in page
    assert 'value="jo@example.org"' in page
    assert "<script" not in page
    # IPv6, written another way, is found in its canonical form
    st, _, page = cgi(box, "DSL=2001:DB8:0:0::60")
    assert "2001:db8::60 is blocked" in page, page
    # not listed
    st, _, page = cgi(box, "DSL=192.0.2.61")
    assert "192.0.2.61 is not on our automatic block list" in page
    # hostile values: escaped or refused, never echoed raw
    st, _, page = cgi(box, "DSL=192.0.2.60&From=" + urllib.parse.quote(
        '"><script>alert(1)</script>'))
    assert "<script>" not in page and "&lt;script&gt;" in page, page
    for q in ("DSL=192.0.2.60%00", "DSL=<b>", "DSL=1.2.3.4.5",
              "DSL=192.0.2.60&From=a%0Ab", "DSL=" + "1" * 60,
              "DSL=192.0.2.60&action=delete"):
        st, _, page = cgi(box, q)
        assert st == "Status: 400 Bad Request", (q, st)
        assert "<b>" not in page, page
    st, _, page = cgi(box, "")
    assert st == "Status: 200 OK" and "<form method=\"get\">" in page
    st, head, _ = cgi(box, method="DELETE")
    assert st == "Status: 405 Method Not Allowed"
    st, _, _ = cgi(box, method="POST", body="x=" + "a" * 5000)
    assert st == "Status: 400 Bad Request"
    st, _, _ = cgi(box, method="POST", body="DSL=192.0.2.60&action=remove",
                   ctype="text/plain")
    assert st == "Status: 400 Bad Request"
    log = box.actions.read_text()
    assert "view ip=192.0.2.60 listed=yes remote=127.0.0.1" in log
    assert "bad-request remote=127.0.0.1" in log


def test_cgi_requests_and_rate_limits(cgibox):
    box = cgibox
    body = "DSL=192.0.2.60&From=jo%40example.org&action=remove"
    st, _, page = cgi(box, method="POST", body=body)
    assert "Removal requested for 192.0.2.60" in page, page
    reqs = list((box.spool / "requests").glob("req.*"))
    assert len(reqs) == 1
    assert reqs[0].stat().st_uid == pwd.getpwnam("www-data").pw_uid
    # a second request while one is pending: nothing new
    st, _, page = cgi(box, method="POST", body=body)
    assert "already requested" in page.lower() or \
        "Removal already requested" in page, page
    assert len(list((box.spool / "requests").glob("req.*"))) == 1
    # not listed: nothing to lift
    st, _, page = cgi(box, method="POST",
                      body="DSL=192.0.2.99&action=remove")
    assert "not on our automatic block list" in page
    # the CGI's user cannot write the list or the state
    for f in (box.db, box.state / "entries", box.state / "allow"):
        p = subprocess.run(["setpriv", "--reuid=www-data", "--regid=www-data",
                            "--clear-groups", "sh", "-c", f'echo x >> "{f}"'],
                           capture_output=True)
        assert p.returncode != 0, f
    box.run()
    assert "192.0.2.60" not in box.entries()
    # rate limits: 3 requests per client address per day
    ips = [f"192.0.2.{i}" for i in range(62, 66)]
    box.add(*[ln for ip in ips for ln in noto(ip, 6)])
    box.run()
    codes = []
    for ip in ips:
        for p in (box.spool / "requests").glob("req.*"):
            p.unlink()
        st, _, _ = cgi(box, method="POST", body=f"DSL={ip}&action=remove",
                       remote="127.0.0.9")
        codes.append(st)
    assert codes == ["Status: 200 OK"] * 3 + \
        ["Status: 429 Too Many Requests"], codes
    # and per listed address, whoever asks (.64 was asked for once)
    codes = []
    for i in range(3):
        for p in (box.spool / "requests").glob("req.*"):
            p.unlink()
        st, _, _ = cgi(box, method="POST", body="DSL=192.0.2.64&action=remove",
                       remote=f"127.0.1.{i}")
        codes.append(st)
    assert codes == ["Status: 200 OK"] * 2 + \
        ["Status: 429 Too Many Requests"], codes
    log = box.actions.read_text()
    assert "too many requests (per remote address)" in log
    assert "too many requests (per dsl address)" in log
