# toolfixtures.py - peers and helpers for the log tools' integration tests
# (test_tools_*.py): a private rsyslogd, smtpd sessions logged through it,
# lighttpd running the mailblock CGI, and headless Chromium driven over
# the DevTools protocol.
#
# How smtpd's lines reach rsyslog: smtpd calls syslog(3), which writes to
# /dev/log before the chroot. The tests run each smtpd in a private mount
# namespace (one holder process made with unshare(1); each smtpd joins it
# with nsenter(1)) whose /dev is an overlay of the real /dev with one more
# entry, /dev/log, a symlink to the socket of the test's own rsyslogd
# (imuxsock on a path in a temp dir). So the real syslog(3) path is used,
# nothing on the machine changes, and rsyslogd writes the lines as it
# would on a mail server: traditional format in mail.log, RFC 3339 in
# mail-rfc3339.log. smtpd runs in inetd mode (one process per connection,
# as xinetd runs it); each connection's client address, name and ident
# come from SMTPD_PEER_IP, SMTPD_PEER_NAME and SMTPD_IDENT, the variables
# smtpd.8 provides for proxies, so that one loopback client can speak
# for many clients. Every peer is stopped by its PID.
# SPDX-License-Identifier: BSD-2-Clause

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, gk_build, need_binary
from dnsfixtures import Peer, PeerError, find_program, _die_with_parent
from smtpd_fixtures import (MYNAME, TEST_GROUP, TEST_USER, Jail, Session,
                            check_stderr, close_listener, smtpd_binary)

SCRIPTS = ROOT / "scripts"
GOLDEN = ROOT / "tests" / "golden" / "logs"
START_TIMEOUT = 15.0


def artefacts():
    """build*/test/artefacts: kept after the run (tests/run-checks makes
    build*/test and points TMPDIR at build*/test/tmp)."""
    d = os.environ.get("GK_ARTEFACTS")
    if d:
        p = Path(d)
    else:
        tmp = Path(os.environ.get("TMPDIR", "/nonexistent"))
        if tmp.name == "tmp" and tmp.parent.name == "test":
            p = tmp.parent / "artefacts"
        else:
            p = ROOT / "build" / "test" / "artefacts"
    p.mkdir(parents=True, exist_ok=True)
    return p


def tool_env(extra=None):
    """The environment for the scripts: the tree's scripts and the build's
    programs first on PATH."""
    build = gk_build()
    need_binary(build / "bin" / "logscan")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SMTPD_", "MAILBLOCK_"))}
    env["PATH"] = f"{SCRIPTS}:{build / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["LOGSCAN"] = str(build / "bin" / "logscan")
    env["TZ"] = "UTC"
    env["LC_ALL"] = "C"
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    env.update(extra or {})
    return env


def run_tool(argv, env=None, input=None, timeout=60, check=True):
    """Run one of the scripts (by name) or programs; returns the process."""
    p = subprocess.run(argv, capture_output=True, text=True, input=input,
                       env=env or tool_env(), timeout=timeout)
    assert "Sanitizer" not in p.stderr, p.stderr
    assert "runtime error:" not in p.stderr, p.stderr
    if check:
        assert p.returncode == 0, (f"{argv} exited {p.returncode}\n"
                                   f"{p.stdout}\n{p.stderr}")
    return p


class Rsyslog(Peer):
    """rsyslogd -n with imuxsock on a private socket, writing mail.* to
    mail.log (traditional) and mail-rfc3339.log (RFC 3339)."""

    def __init__(self):
        super().__init__("rsyslogd")
        os.chmod(self.dir, 0o755)
        self.socket = self.dir / "log.sock"
        self.mail_log = self.dir / "mail.log"
        self.rfc3339_log = self.dir / "mail-rfc3339.log"
        self.pidfile = self.dir / "rsyslogd.pid"
        conf = self.dir / "rsyslog.conf"
        conf.write_text(
            f'global(workDirectory="{self.dir}")\n'
            'module(load="imuxsock" SysSock.Use="off")\n'
            f'input(type="imuxsock" Socket="{self.socket}" '
            'CreatePath="on" RateLimit.Interval="0")\n'
            f'mail.*\taction(type="omfile" file="{self.mail_log}" '
            'template="RSYSLOG_TraditionalFileFormat")\n'
            f'mail.*\taction(type="omfile" file="{self.rfc3339_log}" '
            'template="RSYSLOG_FileFormat")\n')
        exe = find_program("rsyslogd")
        self.start([exe, "-n", "-f", str(conf), "-i", str(self.pidfile)])
        self.wait_ready(self.socket.exists, "create its socket")
        self.logger("gk-probe", "rsyslog is up")
        self.wait_ready(lambda: self.mail_log.exists() and
                        "rsyslog is up" in self.mail_log.read_text(),
                        "write a probe line")

    def logger(self, tag, text):
        subprocess.run(["logger", "-u", str(self.socket), "-p", "mail.info",
                        "-t", tag, "--", text], check=True)

    def rotate(self):
        """As logrotate's "create" mode: rename, then HUP."""
        os.rename(self.mail_log, str(self.mail_log) + ".1")
        os.kill(self.proc.pid, signal.SIGHUP)

    def wait_lines(self, pred, timeout=20.0, path=None):
        """Wait until pred(text of the log) holds; returns the text."""
        path = path or self.mail_log
        deadline = time.monotonic() + timeout
        while True:
            text = path.read_text(errors="replace") if path.exists() else ""
            if pred(text) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


class DevLogNamespace:
    """A mount namespace whose /dev/log is the given socket; smtpd runs in
    it through nsenter."""

    def __init__(self, sock):
        self.dir = Path(tempfile.mkdtemp(prefix="gk-devlog-"))
        upper = self.dir / "upper"
        work = self.dir / "work"
        upper.mkdir()
        work.mkdir()
        (upper / "log").symlink_to(sock)
        unshare = find_program("unshare")
        self.nsenter = find_program("nsenter")
        self.proc = subprocess.Popen(
            [unshare, "--mount", "--propagation", "private", "sh", "-c",
             'mount -t overlay overlay -o "lowerdir=/dev,upperdir=$1,'
             'workdir=$2" /dev && echo ready && exec sleep 86400',
             "sh", str(upper), str(work)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_die_with_parent)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            err = self.proc.stderr.read() if self.proc.poll() is not None \
                else ""
            self.stop()
            raise PeerError("cannot make a mount namespace with /dev/log "
                            f"(unshare + overlay mount, needs root): {err}")

    def prefix(self):
        return [self.nsenter, f"--mount=/proc/{self.proc.pid}/ns/mnt", "--"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class SyslogHarness:
    """Listens on 127.0.0.1:<ephemeral>; runs smtpd (inetd mode, syslog)
    for each connection, in the DevLogNamespace, with the identity the
    client registered for its source port."""

    def __init__(self, jail, ns, extra=(), env=None):
        self.jail = jail
        self.argv = ns.prefix() + [
            str(smtpd_binary()), "-c", str(jail.path), "-u", TEST_USER,
            "-g", TEST_GROUP, "-m", MYNAME, "-o", "noto_delay=0",
            "-o", "deny_delay=0"] + list(extra)
        self.base_env = {k: v for k, v in os.environ.items()
                         if not k.startswith(("SMTPD_", "JUNIPER_",
                                              "TCPREMOTE"))}
        self.base_env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
        self.base_env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        self.base_env["TZ"] = "UTC"
        self.base_env.update(env or {})
        self.ids = {}
        self.procs = []
        self.lock = threading.Lock()
        self.errdir = Path(tempfile.mkdtemp(prefix="gk-smtpd-err-"))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def register(self, port, env):
        with self.lock:
            self.ids[port] = env

    def _loop(self):
        n = 0
        while self.running:
            try:
                conn, (_, port) = self.sock.accept()
            except OSError:
                return
            if not self.running:
                conn.close()
                return
            with self.lock:
                env = dict(self.base_env)
                env.update(self.ids.pop(port, {}))
                n += 1
                err = open(self.errdir / f"s{n}.err", "wb")
                p = subprocess.Popen(self.argv, stdin=conn, stdout=conn,
                                     stderr=err, env=env, close_fds=True)
                self.procs.append(p)
            conn.close()
            err.close()

    def connect(self, ip=None, name="UNKNOWN", ident=None, timeout=120):
        """A Session whose client smtpd takes for ip (None: the real
        loopback peer) with name (UNKNOWN: none) and ident."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        env = {}
        if ip is not None:
            env["SMTPD_PEER_IP"] = ip
            env["SMTPD_PEER_NAME"] = name
        if ident is not None:
            env["SMTPD_IDENT"] = ident
        self.register(s.getsockname()[1], env)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", self.port))
        return Session(s, timeout=timeout)

    def wait(self, timeout=60):
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            p.wait(timeout=timeout)

    def stop(self):
        self.running = False
        close_listener(self.sock, self.thread)
        self.wait()
        errs = "".join(p.read_text(errors="replace")
                       for p in sorted(self.errdir.glob("*.err")))
        shutil.rmtree(self.errdir, ignore_errors=True)
        check_stderr(errs)
        return errs


def smtp_session(harness, ip, name, helo, mail_from, rcpts, data=False):
    """One SMTP session; returns the RCPT reply codes. A deny rule answers,
    then sends 421 and closes: the next command reads that 421."""
    s = harness.connect(ip, name)
    codes = []
    try:
        code, _ = s.reply()
        assert code == 220, code
        s.cmd(f"EHLO {helo}")
        code, _ = s.cmd(f"MAIL FROM:{mail_from}")
        assert code == 250, (code, mail_from)
        for r in rcpts:
            try:
                code, _ = s.cmd(f"RCPT TO:{r}")
            except (EOFError, OSError):
                code = 421
            codes.append(code)
            if code == 421:
                return codes
        if data and 250 in codes:
            code, _ = s.cmd("DATA")
            if code == 354:
                s.send(b"Subject: test\r\n\r\nhello\r\n.\r\n")
                s.reply()
        try:
            s.cmd("QUIT")
        except (EOFError, OSError):
            pass
    finally:
        s.close()
    return codes


class Lighttpd(Peer):
    """lighttpd -D on 127.0.0.1:port with mod_cgi for /cgi-bin/, as
    www-data, its config and files in a private temp dir."""

    def __init__(self, cgi_files, env):
        super().__init__("lighttpd")
        os.chmod(self.dir, 0o755)
        exe = find_program("lighttpd")
        self.port = _free_port()
        docroot = self.dir / "htdocs"
        cgidir = self.dir / "cgi-bin"
        logs = self.dir / "logs"
        docroot.mkdir()
        cgidir.mkdir()
        logs.mkdir()
        import pwd
        www = pwd.getpwnam("www-data")
        os.chown(logs, www.pw_uid, www.pw_gid)
        (docroot / "index.html").write_text("<!DOCTYPE html><title>t</title>")
        for name, src in cgi_files.items():
            dst = cgidir / name
            shutil.copy(src, dst)
            os.chmod(dst, 0o755)
        envs = ", ".join(f'"{k}" => "{v}"' for k, v in env.items())
        conf = self.dir / "lighttpd.conf"
        conf.write_text(
            'server.modules = ("mod_access", "mod_alias", "mod_cgi", '
            '"mod_setenv", "mod_accesslog")\n'
            f'server.document-root = "{docroot}"\n'
            'server.bind = "127.0.0.1"\n'
            f'server.port = {self.port}\n'
            'server.username = "www-data"\n'
            'server.groupname = "www-data"\n'
            f'server.pid-file = "{self.dir}/lighttpd.pid"\n'
            f'server.errorlog = "{logs}/error.log"\n'
            f'accesslog.filename = "{logs}/access.log"\n'
            f'alias.url = ("/cgi-bin/" => "{cgidir}/")\n'
            '$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ("" => "") }\n'
            f'setenv.add-environment = ({envs})\n')
        self.start([exe, "-D", "-f", str(conf)])
        self.wait_ready(self._answers, "answer HTTP")

    def _answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                return s.recv(100).startswith(b"HTTP/1.")
        except OSError:
            return False

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Chromium:
    """Headless Chromium driven over --remote-debugging-pipe (fd 3 in, fd 4
    out, NUL-separated JSON): navigate, click like a person, read the
    page, take screenshots."""

    def __init__(self, width=1000, height=800, javascript=False):
        exe = None
        for name in ("chromium", "chromium-browser"):
            try:
                exe = find_program(name)
                break
            except PeerError:
                pass
        if exe is None:
            raise PeerError("chromium is not installed (scripts/install-deps)")
        self.dir = Path(tempfile.mkdtemp(prefix="gk-chromium-"))
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def setup():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)
            _die_with_parent()

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-extensions",
             f"--user-data-dir={self.dir / 'profile'}",
             f"--window-size={width},{height}", "--remote-debugging-pipe",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "chromium.log", "wb"),
            preexec_fn=setup, close_fds=False)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]
        self.session = self.call("Target.attachToTarget",
                                 targetId=page["targetId"],
                                 flatten=True)["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setScriptExecutionDisabled",
                  value=not javascript, session=True)

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            import select
            r, _, _ = select.select([self.from_r], [], [], 0.5)
            if r:
                chunk = os.read(self.from_r, 1 << 20)
                if not chunk:
                    raise EOFError("chromium went away")
                self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, session=False, timeout=30, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read(timeout)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    del self.events[i]
                    return m
            self.events.append(self._read(timeout))

    def navigate(self, url):
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_event("Page.loadEventFired")

    def html(self):
        root = self.call("DOM.getDocument", session=True)["root"]
        return self.call("DOM.getOuterHTML", session=True,
                         nodeId=root["nodeId"])["outerHTML"]

    def click(self, selector):
        """A real mouse click in the middle of the element; waits for the
        page it loads."""
        root = self.call("DOM.getDocument", session=True)["root"]
        node = self.call("DOM.querySelector", session=True,
                         nodeId=root["nodeId"], selector=selector)["nodeId"]
        assert node, f"no {selector} on the page"
        self.call("DOM.scrollIntoViewIfNeeded", session=True, nodeId=node)
        quad = self.call("DOM.getContentQuads", session=True,
                         nodeId=node)["quads"][0]
        x = (quad[0] + quad[2] + quad[4] + quad[6]) / 4
        y = (quad[1] + quad[3] + quad[5] + quad[7]) / 4
        self.events.clear()
        for t in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=t,
                      x=x, y=y, button="left", clickCount=1)
        self.wait_event("Page.loadEventFired")

    def screenshot(self, path):
        """The whole page, not only what the window shows."""
        import base64
        size = self.call("Page.getLayoutMetrics",
                         session=True)["cssContentSize"]
        data = self.call("Page.captureScreenshot", session=True,
                         format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": size["width"],
                               "height": size["height"], "scale": 1})["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def stop(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_w)
        os.close(self.from_r)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def rsyslog():
    try:
        peer = Rsyslog()
    except PeerError as e:
        pytest.fail(str(e), pytrace=False)
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def devlog(rsyslog):
    try:
        ns = DevLogNamespace(rsyslog.socket)
    except PeerError as e:
        pytest.fail(str(e), pytrace=False)
    yield ns
    ns.stop()
