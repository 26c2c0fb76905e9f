# fwdpostfix.py - a private Postfix instance for the smtpfwdd tests.
#
# The real Postfix from Debian's package, with its own configuration
# directory, queue and data directories and mailboxes in a temp dir; the
# system's /etc/postfix is not read or touched. No inet service: mail
# enters through the real /usr/sbin/sendmail, which smtpfwdd runs with
# MAIL_CONFIG=<dir> (-e). virtual(8) delivers into one Maildir per
# recipient, vmail/<local part>/.
#
# Postfix lets an unprivileged user name a non-default configuration
# only if no set-gid transition happens on the way (or the directory is
# listed in the default main.cf, which we may not change). So the
# instance's command_directory holds copies of postdrop and postqueue
# that are set-gid to smtpfwdd's own group (its setgid_group), the way
# Postfix installs them with group postdrop: smtpfwdd, already in that
# group, runs the real postdrop without a privilege change.
# SPDX-License-Identifier: BSD-2-Clause

import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from postfixbase import PostfixBase, PostfixError  # noqa: F401

import pytest

SENDMAIL = "/usr/sbin/sendmail"
DOMAIN = "test.example"


class Postfix(PostfixBase):
    """start() / stop() one instance; mailbox(local) lists deliveries."""

    def __init__(self, base, group, mailboxes, owner):
        self.base = Path(base)
        self.cf = self.base / "cf"
        self.bin = self.base / "bin"
        self.queue = self.base / "queue"
        self.vmail = self.base / "vmail"
        self.maillog = self.base / "maillog"
        self.group = group
        self.mailboxes = list(mailboxes)
        self.owner = owner          # (uid, gid) of the Maildirs
        self.pid = None

    def _write_config(self):
        for d in (self.cf, self.bin, self.queue, self.base / "data",
                  self.vmail):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        shutil.chown(self.base / "data", "postfix")
        os.chown(self.vmail, *self.owner)
        gid = grp.getgrnam(self.group).gr_gid
        for f in Path("/usr/sbin").glob("post*"):
            target = self.bin / f.name
            if target.is_symlink() or target.exists():
                target.unlink()
            if f.name in ("postdrop", "postqueue"):
                shutil.copyfile(f, target)
                os.chown(target, 0, gid)
                os.chmod(target, 0o2755)
            else:
                target.symlink_to(f)
        master = Path("/etc/postfix/master.cf").read_text().splitlines()
        # No listener at all: the instance is reached through sendmail.
        master = [ln for ln in master if not ln.split() or
                  len(ln.split()) < 2 or ln.split()[1] != "inet"]
        (self.cf / "master.cf").write_text("\n".join(master) + "\n")
        (self.cf / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.base / "data"}
command_directory = {self.bin}
mail_owner = postfix
setgid_group = {self.group}
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
alias_maps =
alias_database =
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.vmail}
virtual_mailbox_maps = texthash:{self.cf / "vmailbox"}
virtual_uid_maps = static:{self.owner[0]}
virtual_gid_maps = static:{self.owner[1]}
virtual_destination_concurrency_limit = 4
maillog_file = {self.maillog}
maillog_file_prefixes = {self.base}
""")
        (self.cf / "vmailbox").write_text(
            "".join(f"{m}@{DOMAIN} {m}/\n" for m in self.mailboxes))

    def start(self):
        if os.geteuid() != 0:
            raise PostfixError("a Postfix instance needs root to start")
        if not Path(SENDMAIL).exists() or shutil.which("postfix") is None:
            raise PostfixError("Postfix is not installed "
                               "(scripts/install-deps)")
        self._write_config()
        p = subprocess.run(["postfix", "-c", str(self.cf), "start"],
                           capture_output=True, text=True, timeout=60)
        pidfile = self.queue / "pid" / "master.pid"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                self.pid = int(pidfile.read_text().split()[0])
                os.kill(self.pid, 0)
                # pickup must be listening before we submit
                if (self.queue / "public" / "pickup").exists():
                    return self
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.05)
        raise PostfixError("postfix start failed (%d): %s%s\n%s" % (
            p.returncode, p.stdout, p.stderr, self.log()))

    def sendmail_args(self):
        """smtpfwdd options that deliver into this instance."""
        return ["-s", SENDMAIL, "-e", "MAIL_CONFIG=%s" % self.cf]

    def mailbox(self, local):
        """The files delivered to local@DOMAIN, as bytes."""
        d = self.vmail / local / "new"
        if not d.is_dir():
            return []
        return [f.read_bytes() for f in sorted(d.iterdir())]

    def count(self):
        return sum(len(list((self.vmail / m / "new").glob("*")))
                   for m in self.mailboxes if (self.vmail / m / "new").is_dir())



def start_instance(group, mailboxes):
    """A started instance in a fresh temp dir, Maildirs owned by nobody;
    a test failure (not a skip) if Postfix cannot run."""
    nobody = pwd.getpwnam("nobody")
    base = Path(tempfile.mkdtemp(prefix="gk-postfix-"))
    pf = Postfix(base, group, mailboxes, (nobody.pw_uid, nobody.pw_gid))
    try:
        pf.start()
    except (PostfixError, OSError, subprocess.SubprocessError) as e:
        try:
            pf.stop()
        except PostfixError:
            pass
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail("test Postfix instance: %s" % e, pytrace=False)
    return pf


def stop_instance(pf):
    try:
        pf.stop()
    finally:
        shutil.rmtree(pf.base, ignore_errors=True)
