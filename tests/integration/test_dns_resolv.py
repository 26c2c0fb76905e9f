# test_dns_resolv.py - lib/resolv.c against real servers: runs the unit
# test binary resolv_test with RESOLV_TEST_SERVER (the tests' unbound)
# and RESOLV_TEST_DEAD (a server that never answers), which turns on its
# live part: real replies, CNAME chains, DNSBL answers via rbldnsd,
# forward-confirmed reverse DNS, parallel lookups, the deadline and
# budget bounds against a dead server, SERVFAIL, and RESOLV_TEST_CLOSED
# (an address where nothing listens: "connection refused" at once).
# SPDX-License-Identifier: BSD-2-Clause

import subprocess

import pytest

import dnsfixtures
from conftest import clean_env, gk_build, need_binary


def test_resolv_live(resolver, dead_server):
    exe = need_binary(gk_build() / "tests" / "unit" / "resolv_test")
    env = clean_env(resolver)
    env["RESOLV_TEST_SERVER"] = resolver
    env["RESOLV_TEST_DEAD"] = dead_server
    try:
        env["RESOLV_TEST_CLOSED"] = dnsfixtures.closed_address()
    except dnsfixtures.PeerError as e:
        pytest.fail(str(e), pytrace=False)
    proc = subprocess.run([str(exe)], capture_output=True, text=True,
                          env=env, timeout=60)
    out = proc.stdout + proc.stderr
    failed = [l for l in proc.stdout.splitlines() if l.startswith("not ok")]
    assert proc.returncode == 0 and not failed, out
    assert "ok" in proc.stdout and "live: A" in proc.stdout, out
    assert "dead: TEMPFAIL timeout" in proc.stdout, out
    assert "closed: TEMPFAIL connection refused" in proc.stdout, out
