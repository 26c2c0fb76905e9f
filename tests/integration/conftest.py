# conftest.py - pytest fixtures for the integration tests: the build
# under test ($GK_BUILD, set by tests/run-checks; build/asan of this tree
# by default), real DNS peers on loopback (dnsfixtures.py), and a runner
# for rulecheck. A missing binary or peer makes the tests FAIL, never skip.
# SPDX-License-Identifier: BSD-2-Clause

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dnsfixtures  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RULECHECK_TIMEOUT = 30


def gk_build():
    """The build variant directory the tests run against."""
    return Path(os.environ.get("GK_BUILD") or ROOT / "build" / "asan")


def need_binary(path):
    """The path of a built program, or a test failure (not a skip)."""
    p = Path(path)
    if not (p.is_file() and os.access(p, os.X_OK)):
        pytest.fail(f"{p} is missing: build it first (make asan), or set "
                    f"GK_BUILD", pytrace=False)
    return p


def _peer(start):
    try:
        return start()
    except dnsfixtures.PeerError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def rbldnsd():
    peer = _peer(dnsfixtures.start_rbldnsd)
    yield dnsfixtures.RBLDNSD_IP
    peer.stop()


@pytest.fixture(scope="session")
def dead_server():
    peer = _peer(dnsfixtures.start_dead)
    yield dnsfixtures.DEAD_IP
    peer.stop()


@pytest.fixture(scope="session")
def resolver(rbldnsd, dead_server):
    """unbound's address; rbldnsd and the dead server behind its stubs
    run as long as it does."""
    peer = _peer(dnsfixtures.start_unbound)
    yield dnsfixtures.RESOLVER_IP
    peer.stop()


def clean_env(servers):
    """The environment for a program under test: DNSCACHEIP is always the
    tests' own server, never the machine's resolver."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LOCALDOMAIN", "RES_OPTIONS", "HOSTALIASES")}
    env["DNSCACHEIP"] = servers
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


class Decision:
    """What rulecheck printed: fields["action"] etc., plus the raw run."""

    def __init__(self, argv, proc, elapsed):
        self.argv = argv
        self.status = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        self.fields = {}
        for line in proc.stdout.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key.isidentifier() and key not in self.fields:
                self.fields[key] = value

    def __getitem__(self, key):
        return self.fields.get(key)

    @property
    def action(self):
        # "allow (default)" when no line matched
        return (self["action"] or "").split(" ")[0]

    @property
    def line(self):
        return int(self["line"]) if self["line"] is not None else None

    def __repr__(self):
        return (f"rulecheck {' '.join(self.argv[1:])}\nstatus "
                f"{self.status} after {self.elapsed:.2f} s\n--- stdout\n"
                f"{self.stdout}--- stderr\n{self.stderr}")


@pytest.fixture
def scratch():
    """A private temp dir, removed after the test."""
    d = Path(tempfile.mkdtemp(prefix="gk-test-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def rulecheck(resolver, scratch):
    """run(rules, ip=..., frm=..., to=..., name=None|"UNKNOWN"|host,
    resolve=False, servers=resolver, servers_flag=True, query_ms=None,
    budget_ms=None, extra=[]) -> Decision. rules is the rules file text;
    servers goes to -s (unless servers_flag is false) and to DNSCACHEIP."""
    exe = need_binary(gk_build() / "bin" / "rulecheck")
    count = [0]

    def run(rules, ip, frm="<>", to="", name=None, resolve=False,
            servers=None, servers_flag=True, query_ms=None, budget_ms=None,
            extra=()):
        count[0] += 1
        path = scratch / f"rules{count[0]}"
        path.write_text(rules if rules.endswith("\n") else rules + "\n")
        servers = servers or resolver
        argv = [str(exe), "-c", str(path)]
        if servers_flag:
            argv += ["-s", servers]
        argv += ["-i", ip, "-f", frm, "-t", to]
        if resolve:
            argv.append("-R")
        elif name is not None:
            argv += ["-h", name]
        if query_ms is not None:
            argv += ["-T", str(query_ms)]
        if budget_ms is not None:
            argv += ["-B", str(budget_ms)]
        argv += list(extra)
        t0 = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True,
                              env=clean_env(servers),
                              timeout=RULECHECK_TIMEOUT)
        d = Decision(argv, proc, time.monotonic() - t0)
        assert d.status in (0, 100, 111), d
        assert "Sanitizer" not in d.stderr, d
        assert "runtime error:" not in d.stderr, d
        return d

    return run
