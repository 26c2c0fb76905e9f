# dnsfixtures.py - real DNS peers on loopback for the integration tests.
# unbound (the resolver the code under test asks), rbldnsd (the DNSBL
# zone, reached through unbound's stub zone) and a "dead" server that
# reads queries and never answers. Each peer runs in the foreground as
# a child of the test process, is waited for with real DNS queries, and
# is stopped by its PID; its temp dir is removed. A peer that is missing
# or does not come up raises PeerError: the tests then fail, never skip.
# SPDX-License-Identifier: BSD-2-Clause

import os
import pwd
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

# Addresses from the test plan, and one where nothing may listen;
# GK_DNS_ADDRS="a b c d" moves all four (e.g. for two test runs on one
# machine at once).
_ADDRS = os.environ.get("GK_DNS_ADDRS",
                        "127.0.0.70 127.0.0.71 127.0.0.72 127.0.0.73").split()
RESOLVER_IP, RBLDNSD_IP, DEAD_IP, CLOSED_IP = (_ADDRS + ["127.0.0.73"])[:4]
PORT = 53
START_TIMEOUT = 15.0

T_A, T_NS, T_PTR, T_MX, T_TXT, T_AAAA = 1, 2, 12, 15, 16, 28


class PeerError(RuntimeError):
    """A peer program is missing or would not start."""


def find_program(name):
    """Absolute path of a peer program, or PeerError."""
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    found = shutil.which(name)
    if found:
        return found
    raise PeerError(f"{name} is not installed (needed by the DNS tests)")


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def _skip_name(pkt, pos):
    while True:
        n = pkt[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        if n == 0:
            return pos + 1
        pos += 1 + n


def dns_query(server, name, qtype=T_A, timeout=0.5):
    """One UDP query to server:53. Returns (rcode, [(type, rdata)]) or
    None when nothing answered within timeout."""
    qid = random.randrange(65536)
    query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    query += _encode_name(name) + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(query, (server, PORT))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                pkt, _ = s.recvfrom(4096)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if len(pkt) >= 12 and struct.unpack(">H", pkt[:2])[0] == qid:
                break
    finally:
        s.close()
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", pkt[:12])
    pos = 12
    for _ in range(qd):
        pos = _skip_name(pkt, pos) + 4
    records = []
    for _ in range(an):
        pos = _skip_name(pkt, pos)
        rtype, _, _, rdlen = struct.unpack(">HHIH", pkt[pos:pos + 10])
        pos += 10
        records.append((rtype, pkt[pos:pos + rdlen]))
        pos += rdlen
    return flags & 0xF, records


def a_records(answer):
    """Dotted IPv4 addresses of the A records in a dns_query() answer."""
    if answer is None:
        return []
    return [socket.inet_ntoa(rd) for t, rd in answer[1] if t == T_A]


def _die_with_parent():
    """In the child: get SIGTERM if the test process dies, so that a
    killed test run leaves no server holding port 53."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Peer:
    """One child process, stopped by PID, with a private temp dir."""

    def __init__(self, name):
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"gk-{name}-"))
        self.proc = None
        self.log = self.dir / f"{name}.out"

    def start(self, argv, **kw):
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=self.dir,
                preexec_fn=_die_with_parent, **kw)

    def output(self):
        parts = []
        for p in sorted(self.dir.glob("*.log")) + [self.log]:
            try:
                parts.append(f"--- {p.name}\n" +
                             p.read_text(errors="replace")[-3000:])
            except OSError:
                pass
        return "\n".join(parts)

    def wait_ready(self, check, what):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PeerError(
                    f"{self.name} exited with status {self.proc.returncode}"
                    f" before {what}:\n{self.output()}")
            if check():
                return
            time.sleep(0.1)
        raise PeerError(f"{self.name} did not {what} within "
                        f"{START_TIMEOUT:.0f} s:\n{self.output()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _check_root():
    if os.geteuid() != 0:
        raise PeerError("the DNS tests bind port 53 on loopback: run as "
                        "root (CI does)")


def start_unbound():
    """unbound on RESOLVER_IP:53 with data/zones.conf; a started Peer."""
    _check_root()
    exe = find_program("unbound")
    peer = Peer("unbound")
    try:
        conf = (DATA / "unbound.conf.in").read_text()
        for key, value in (("@DIR@", str(peer.dir)), ("@DATA@", str(DATA)),
                           ("@RESOLVER@", RESOLVER_IP),
                           ("@RBLDNSD@", RBLDNSD_IP), ("@DEAD@", DEAD_IP)):
            conf = conf.replace(key, value)
        (peer.dir / "unbound.conf").write_text(conf)
        checkconf = shutil.which("unbound-checkconf") or \
            "/usr/sbin/unbound-checkconf"
        if os.path.exists(checkconf):
            r = subprocess.run([checkconf, str(peer.dir / "unbound.conf")],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise PeerError("unbound.conf does not check:\n" +
                                r.stdout + r.stderr)
        peer.start([exe, "-d", "-c", str(peer.dir / "unbound.conf")])
        peer.wait_ready(
            lambda: a_records(dns_query(RESOLVER_IP, "good.example.test"))
            == ["192.0.2.10"], "answer good.example.test")
    except BaseException:
        peer.stop()
        raise
    return peer


def start_rbldnsd():
    """rbldnsd on RBLDNSD_IP:53 serving dnsbl.test; a started Peer."""
    _check_root()
    exe = find_program("rbldnsd")
    # rbldnsd will not run as root; it reads its files as this user
    user = "rbldns"
    try:
        pwd.getpwnam(user)
    except KeyError:
        user = "nobody"
    peer = Peer("rbldnsd")
    try:
        for f in ("dnsbl.ip4", "dnsbl.ip6"):
            shutil.copy(DATA / f, peer.dir / f)
            os.chmod(peer.dir / f, 0o644)
        os.chmod(peer.dir, 0o755)
        peer.start([exe, "-n", "-u", user, "-b", f"{RBLDNSD_IP}/{PORT}",
                    "-w", str(peer.dir), "-t", "5",
                    "dnsbl.test:ip4set:dnsbl.ip4",
                    "dnsbl.test:ip6trie:dnsbl.ip6"])
        peer.wait_ready(
            lambda: a_records(dns_query(RBLDNSD_IP, "2.0.0.127.dnsbl.test"))
            == ["127.0.0.2"], "answer 2.0.0.127.dnsbl.test")
    except BaseException:
        peer.stop()
        raise
    return peer


_DEAD_SCRIPT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[1], int(sys.argv[2])))
t.listen(16)
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(4096)
    # silence, except SERVFAIL for names under servfail.test
    if len(q) > 12 and b"\\x08servfail\\x04test\\x00" in q[12:].lower():
        end = q.index(b"\\x00", 12) + 5
        s.sendto(q[:2] + b"\\x81\\x82\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00"
                 + q[12:end], peer)
"""


def closed_address():
    """CLOSED_IP, after checking that no UDP server holds its port 53."""
    _check_root()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((CLOSED_IP, PORT))
    except OSError as e:
        raise PeerError(f"{CLOSED_IP}:{PORT} should be closed: {e}")
    finally:
        s.close()
    return CLOSED_IP


def start_dead():
    """A server on DEAD_IP:53 that reads UDP queries and never answers
    (a TCP listener that never accepts, too), except for names under
    servfail.test, which get SERVFAIL at once; a started Peer."""
    _check_root()
    peer = Peer("dead")
    try:
        peer.start([sys.executable, "-c", _DEAD_SCRIPT, DEAD_IP, str(PORT)])
        peer.wait_ready(lambda: "ready" in peer.log.read_text(),
                        "bind its socket")
    except BaseException:
        peer.stop()
        raise
    return peer
