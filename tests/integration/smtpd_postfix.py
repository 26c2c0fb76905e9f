# smtpd_postfix.py - a private Postfix instance in front of (or beside)
# smtpd, for test_smtpd_postfix.py and bench/smtpd_bench.py.
#
# Debian's Postfix with its own configuration directory (postconf -c /
# postfix -c), queue and data directories and log file, all in a temp
# dir; /etc/postfix is read (master.cf as a template) but never changed.
# One SMTP listener on 127.0.0.1:<port>; no chroot; no DNS.
#   mode "relay": relays everything it receives to relayhost
#                 ([127.0.0.1]:<smtpd's port>): the real MTA of the tests
#   mode "sink":  accepts mail for DOMAIN, queues it (fsync), discards
#                 it: the Postfix smtpd reference of the benchmark
# stop() runs `postfix -c DIR stop` and confirms by the master's PID.
# SPDX-License-Identifier: BSD-2-Clause

import os
import shutil
import subprocess
import time
from pathlib import Path

from postfixbase import PostfixBase, PostfixError  # noqa: F401

DOMAIN = "test.example"


def _master_cf(port):
    """/etc/postfix/master.cf with one smtpd on 127.0.0.1:port, no other
    inet service, and no chroot anywhere."""
    out = []
    for line in Path("/etc/postfix/master.cf").read_text().splitlines():
        f = line.split()
        if not f or line[0] in "# \t":
            out.append(line)
            continue
        if len(f) >= 8 and f[1] == "inet":
            continue
        if len(f) >= 8:
            f[4] = "n"
            line = " ".join(f)
        out.append(line)
    out.insert(0, f"127.0.0.1:{port} inet n - n - - smtpd")
    return "\n".join(out) + "\n"


class Postfix(PostfixBase):
    def __init__(self, base, port, mode="relay", relayhost=None,
                 myhostname="relay." + DOMAIN, extra=None):
        self.base = Path(base)
        self.cf = self.base / "cf"
        self.queue = self.base / "queue"
        self.data = self.base / "data"
        self.maillog = self.base / "maillog"
        self.port = port
        self.mode = mode
        self.relayhost = relayhost
        self.myhostname = myhostname
        self.extra = extra or {}
        self.pid = None

    def _write_config(self):
        for d in (self.cf, self.queue, self.data):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        shutil.chown(self.data, "postfix")
        (self.cf / "master.cf").write_text(_master_cf(self.port))
        conf = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": self.myhostname,
            "mydomain": DOMAIN,
            "myorigin": DOMAIN,
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtpd_peername_lookup": "no",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "local_header_rewrite_clients": "",
            "biff": "no",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": str(self.base),
        }
        if self.mode == "relay":
            conf["relay_domains"] = ""
            conf["relayhost"] = self.relayhost
            conf["smtp_host_lookup"] = "native"
        else:
            conf["relay_domains"] = "bench." + DOMAIN
            conf["default_transport"] = "discard"
            conf["relay_transport"] = "discard"
        conf.update(self.extra)
        (self.cf / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in conf.items()))

    def start(self):
        if os.geteuid() != 0:
            raise PostfixError("a Postfix instance needs root")
        if shutil.which("postfix") is None:
            raise PostfixError("Postfix is not installed "
                               "(scripts/install-deps)")
        self._write_config()
        p = subprocess.run(["postfix", "-c", str(self.cf), "start"],
                           capture_output=True, text=True, timeout=60)
        pidfile = self.queue / "pid" / "master.pid"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.pid = int(pidfile.read_text().split()[0])
                os.kill(self.pid, 0)
                if self._listening():
                    return self
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.05)
        raise PostfixError("postfix start failed (%d): %s%s\n%s" % (
            p.returncode, p.stdout, p.stderr, self.log()))

    def _listening(self):
        try:
            with open("/proc/net/tcp") as f:
                rows = [ln.split() for ln in f.readlines()[1:]]
        except OSError:
            return False
        return any(len(r) > 3 and r[1] == f"0100007F:{self.port:04X}" and
                   r[3] == "0A" for r in rows)

    def queue_empty(self):
        """No message in incoming, active or deferred."""
        for d in ("incoming", "active", "deferred", "maildrop"):
            p = self.queue / d
            if p.is_dir() and any(f for f in p.rglob("*") if f.is_file()):
                return False
        return True

