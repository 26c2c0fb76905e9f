# test_tools_e2e.py - the block-list automation from end to end.
# smtpd (inetd mode, syslog through a private rsyslogd), mailblock-update
# as cron would run it, the mailblock CGI under lighttpd as www-data, and
# a person in headless Chromium (JavaScript off):
#   1. a client that keeps hitting unknown users passes the threshold over
#      two runs (the log rotated between them) and is listed; the dry run
#      before says so and changes nothing;
#   2. its next RCPT is refused by the norelayfromip rule line, with the
#      CGI's link in the reply (no restart: each connection opens the
#      rebuilt database);
#   3. the link, opened in Chromium, says why; the removal button posts
#      the form; the CGI writes a request but cannot touch the list;
#   4. the next run lifts the block with a time-limited allow entry: the
#      client is let in, and is not listed again while the entry lasts;
#   5. loopback and allow-listed clients are never listed;
#   6. every action is in the mail log, which the tools still read.
# Screenshots go to build*/test/artefacts/.
# SPDX-License-Identifier: BSD-2-Clause

import os
import pwd
import re
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from conftest import gk_build, need_binary
from dnsfixtures import PeerError
from smtpd_fixtures import Jail
from toolfixtures import (Chromium, Lighttpd, SyslogHarness, artefacts,  # noqa
                          devlog, rsyslog, run_tool, smtp_session, tool_env)

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
CLIENT = "203.0.113.66"
SENDER = "<sales@customer.example>"


class Site:
    """Everything the test sets up: jail, config, web server."""

    def __init__(self, rsyslog, devlog):
        self.base = Path(tempfile.mkdtemp(prefix="gk-e2e-"))
        os.chmod(self.base, 0o755)
        self.state = self.base / "state"
        self.spool = self.base / "spool"
        (self.spool / "requests").mkdir(parents=True)
        www = pwd.getpwnam("www-data")
        for d in (self.spool, self.spool / "requests"):
            os.chown(d, www.pw_uid, www.pw_gid)
            os.chmod(d, 0o700)
        self.conf = self.base / "mailblock.conf"
        self.web = Lighttpd({"mailblock": SCRIPTS / "mailblock"},
                            {"MAILBLOCK_CONF": str(self.conf),
                             "PATH": "/usr/bin:/bin"})
        self.url = self.web.url("/cgi-bin/mailblock")
        rules = (
            "# e2e rules: the talk's norelayfromip line first\n"
            "deny:IPBLOCK=/dbs/norelayfromip:ALL:ALL:450 4.7.1 %I is "
            f"blocked (%V), see {self.url}?DSL=%I&From=%F: # norelayfromip\n"
            "allow:ALL:ALL:VALIDUSERS=/dbs/users.cdb\n"
            "noto:ALL:ALL:*@e2e.example:550 5.1.1 no such user: "
            "# unknown users\n"
            "allow:ALL:ALL:ALL\n")
        self.jail = Jail(rules)
        src = self.base / "users.txt"
        src.write_text("alice@e2e.example\n")
        run_tool([str(need_binary(gk_build() / "bin" / "gkdb-build")), "-t",
                  "cdb", str(self.jail.path / "dbs" / "users.cdb"), str(src)])
        self.db = self.jail.path / "dbs" / "norelayfromip"
        allow = self.base / "allow.list"
        allow.write_text("# partners\n198.51.100.0/24\n")
        self.conf.write_text(
            "# mailblock.conf for the e2e test\n"
            f"maillog {rsyslog.mail_log}\n"
            f"state {self.state}\n"
            f"spool {self.spool}\n"
            f"database {self.db}\n"
            "type ipblock\n"
            "threshold noto:4 5 unknown users\n"
            "expire 7d\n"
            "window 1h\n"
            "allow_for 2d\n"
            "protect 127.0.0.0/8 ::1\n"
            f"allowlist {allow}\n"
            "log syslog\n"
            f"syslog_socket {rsyslog.socket}\n"
            f"logscan {gk_build() / 'bin' / 'logscan'}\n"
            f"gkdb_build {gk_build() / 'bin' / 'gkdb-build'}\n"
            "contact postmaster@e2e.example\n")
        os.chmod(self.conf, 0o644)
        self.smtpd = SyslogHarness(self.jail, devlog)

    def update(self, *args):
        return run_tool(["mailblock-update", "-c", str(self.conf)] +
                        list(args))

    def stop(self):
        self.smtpd.stop()
        self.web.stop()
        self.jail.remove()
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def site(rsyslog, devlog):
    try:
        s = Site(rsyslog, devlog)
    except PeerError as e:
        pytest.fail(str(e), pytrace=False)
    yield s
    s.stop()


def unknown_users(site, ip, n, tag):
    codes = smtp_session(site.smtpd, ip, "UNKNOWN", "client.example",
                         SENDER, [f"<{tag}{i}@e2e.example>"
                                  for i in range(n)])
    assert codes == [550] * n, codes


def test_block_and_self_service_unblock(site, rsyslog):
    # run 0: nothing yet; the (empty) database is built
    site.update()
    assert site.db.exists()

    # 3 unknown users: under the threshold (more than 5)
    unknown_users(site, CLIENT, 3, "a")
    # loopback (the real peer) and an allow-listed partner: many more
    codes = smtp_session(site.smtpd, None, "UNKNOWN", "localhost", SENDER,
                         [f"<l{i}@e2e.example>" for i in range(8)])
    assert codes == [550] * 8
    unknown_users(site, "198.51.100.7", 8, "p")
    rsyslog.wait_lines(lambda t: t.count("noto by line 4") >= 19)
    out = site.update("-v").stdout
    assert "add " not in out, out
    assert "skip 127.0.0.1: protected by 127.0.0.0/8" in out, out
    assert "skip 198.51.100.7: protected by 198.51.100.0/24" in out, out
    counts = (site.state / "counts").read_text()
    assert f"{CLIENT} noto:4 3 " in counts, counts

    # the log rotates; 3 more unknown users after it
    rsyslog.rotate()
    unknown_users(site, CLIENT, 3, "b")
    rsyslog.wait_lines(lambda t: t.count("noto by line 4") >= 3)

    # the dry run says what it would do, and does nothing
    db_before = site.db.stat()
    entries_before = (site.state / "entries").read_text()
    pos_before = (site.state / "position").read_text()
    dry = site.update("-d").stdout
    assert re.search(rf"^would add {re.escape(CLIENT)}: unknown users: 6 "
                     r"refusals of noto:4 \(threshold 5\)", dry, re.M), dry
    assert site.db.stat().st_ino == db_before.st_ino
    assert (site.state / "entries").read_text() == entries_before
    assert (site.state / "position").read_text() == pos_before

    # the real run lists it (reading the rest of the rotated file first)
    out = site.update("-v").stdout
    assert f"add {CLIENT}: unknown users: 6 refusals" in out, out
    assert site.db.stat().st_ino != db_before.st_ino
    db_listed = site.db.stat().st_ino
    assert (site.state / "entries").read_text().startswith(CLIENT + " ")
    assert "127.0.0.1" not in (site.state / "entries").read_text()
    assert "198.51.100.7" not in (site.state / "entries").read_text()

    # its next RCPT, to a valid user, is refused by line 2
    s = site.smtpd.connect(CLIENT)
    assert s.reply()[0] == 220
    s.cmd("HELO client.example")
    assert s.cmd(f"MAIL FROM:{SENDER}")[0] == 250
    code, lines = s.cmd("RCPT TO:<alice@e2e.example>")
    s.close()
    assert code == 450, lines
    reply = " ".join(lines)
    assert "is blocked (unknown users)" in reply, reply
    url = re.search(r"http://\S+", reply).group(0)
    assert url == f"{site.url}?DSL={CLIENT}&From={SENDER}", reply
    log = rsyslog.wait_lines(
        lambda t: f"({CLIENT}) attempted MAIL FROM: {SENDER} RCPT TO: "
        "<alice@e2e.example>, denied by line 2 of" in t)
    assert "denied by line 2 of /etc/smtpd_check_rules" in log

    # a person opens the link: JavaScript off, a real click on the button
    try:
        browser = Chromium(width=900, height=760)
    except PeerError as e:
        pytest.fail(str(e), pytrace=False)
    art = artefacts()
    try:
        browser.navigate(url)
        page = browser.html()
        assert f"{CLIENT} is blocked" in page, page
        assert "unknown users" in page
        assert "<script" not in page.lower()
        assert 'method="post"' in page
        browser.screenshot(art / "mailblock-listed.png")
        browser.click("form[method=post] button[type=submit]")
        page = browser.html()
        browser.screenshot(art / "mailblock-requested.png")
    finally:
        browser.stop()
    assert f"Removal requested for {CLIENT}" in page, page
    assert (art / "mailblock-listed.png").stat().st_size > 1000
    assert (art / "mailblock-requested.png").stat().st_size > 1000

    # the CGI wrote a request as www-data, and nothing else
    reqs = list((site.spool / "requests").glob("req.*"))
    assert len(reqs) == 1, reqs
    assert reqs[0].stat().st_uid == pwd.getpwnam("www-data").pw_uid
    text = reqs[0].read_text()
    assert f"ip={CLIENT}\n" in text and "from=sales@customer.example\n" in text
    assert (site.state / "entries").read_text().startswith(CLIENT + " ")
    assert site.db.stat().st_ino == db_listed

    # the next run honours it: unlisted, allowed for a while
    out = site.update("-v").stdout
    assert re.search(rf"^allow {re.escape(CLIENT)} until .*: removal "
                     r"requested from 127\.0\.0\.1 for sales@customer\.example",
                     out, re.M), out
    assert not list((site.spool / "requests").glob("req.*"))
    assert CLIENT not in (site.state / "entries").read_text()
    assert (site.state / "allow").read_text().startswith(CLIENT + " ")
    codes = smtp_session(site.smtpd, CLIENT, "UNKNOWN", "client.example",
                         SENDER, ["<alice@e2e.example>"])
    assert codes == [250], codes
    rsyslog.wait_lines(lambda t: f"({CLIENT}) MAIL FROM: {SENDER} RCPT TO: "
                       "<alice@e2e.example>, allowed by line 3 of" in t)

    # while the allow entry lasts, more unknown users do not list it again
    unknown_users(site, CLIENT, 8, "c")
    rsyslog.wait_lines(lambda t: t.count("<c7@e2e.example>") >= 1)
    out = site.update("-v").stdout
    assert f"skip {CLIENT}: protected by {CLIENT}" in out, out
    assert CLIENT not in (site.state / "entries").read_text()

    # every action was logged to syslog, beside smtpd's lines
    log = rsyslog.mail_log.read_text() + \
        Path(str(rsyslog.mail_log) + ".1").read_text()
    for what in ("mailblock-update[", f"]: add {CLIENT}: unknown users",
                 "mailblock[", f"]: view ip={CLIENT} listed=yes",
                 f"]: request ip={CLIENT} remote=127.0.0.1",
                 f"]: allow {CLIENT} until"):
        assert what in log, what
    # and the tools count only smtpd's decisions in that log
    p = run_tool(["maildenied", str(rsyslog.mail_log) + ".1",
                  str(rsyslog.mail_log)])
    assert "line    2 1" in p.stdout, p.stdout
    ips = run_tool(["grepruleip", "4", str(rsyslog.mail_log) + ".1",
                    str(rsyslog.mail_log)]).stdout.splitlines()
    assert ips[0] == f"{CLIENT} 14", ips
