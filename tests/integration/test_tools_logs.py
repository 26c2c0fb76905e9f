# test_tools_logs.py - the log tools over a log made by real smtpd sessions.
# A few hundred sessions (allowed, noto, denied, with delay, deferred by a
# dead DNSBL, default action; IPv4 and IPv6; named and unnamed clients)
# go through smtpd with tests/golden/logs/corpus.rules; smtpd logs with
# syslog(3) to a private rsyslogd (toolfixtures.py says how), which
# writes mail.log (traditional) and mail-rfc3339.log. Then:
#   - the counts the tools print agree with what the clients were told;
#   - the golden cases tests/golden/logs/corpus-*.sh give the same output
#     on this fresh log as on the stored one (corpus.log), except for the
#     "from"/"to" times.
# GOLDEN_UPDATE=1 stores this run's logs as the golden corpus and
# rewrites the corpus .out files.
# SPDX-License-Identifier: BSD-2-Clause

import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import gk_build, need_binary
from smtpd_fixtures import Jail
from toolfixtures import (GOLDEN, SyslogHarness, artefacts, devlog,  # noqa
                          rsyslog, run_tool, smtp_session, tool_env)

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
SENDER_DOMAINS = ["mail.example.org", "news.example.com", "Bulk.Example.NET",
                  "example.org", "isp.example.net", "shop.example.com"]


def build_db(jail, kind, name, text):
    src = Path(tempfile.mkdtemp(prefix="gk-db-")) / "src"
    src.write_text(text)
    run_tool([str(need_binary(gk_build() / "bin" / "gkdb-build")), "-t",
              kind, str(jail.path / "dbs" / name), str(src)])
    shutil.rmtree(src.parent)


def sessions():
    """The sessions: (ip, name, helo, from, [rcpts]), fixed by a seed."""
    rnd = random.Random(20041112)
    out = []

    def sender(i, domains=SENDER_DOMAINS):
        return f"<user{i % 17}@{domains[i % len(domains)]}>"

    def add(n, ipf, rcptf, namef=lambda i: "UNKNOWN", fromf=sender):
        for i in range(n):
            name = namef(i)
            out.append((ipf(i), name, name if name != "UNKNOWN" else
                        "client.example", fromf(i), rcptf(i)))

    valid = [f"<{u}@hosted.example>" for u in USERS]
    # valid hosted users from named clients (debug line 10 for 198.51.100/24)
    add(60, lambda i: (f"198.51.100.{1 + i % 20}" if i % 3 == 0 else
                       f"198.18.{i % 4}.{10 + i}"),
        lambda i: rnd.sample(valid, 1 + i % 3),
        namef=lambda i: f"mx{i % 9}.example.org")
    # unknown hosted users, from a few clients, mixed with valid ones
    add(50, lambda i: f"198.18.5.{1 + i % 7}",
        lambda i: [f"<nobody{i}@hosted.example>"] + (
            [rnd.choice(valid)] if i % 4 == 0 else []))
    add(15, lambda i: f"198.18.6.{i % 5}",
        lambda i: [f"<old{i}@retired.example>"])
    add(10, lambda i: f"198.18.7.{i}",
        lambda i: [f"<relay{i}%elsewhere.example@hosted.example>"])
    add(20, lambda i: f"192.0.2.{200 + i % 6}",
        lambda i: [rnd.choice(valid)])
    add(25, lambda i: f"198.18.66.{1 + i % 9}",
        lambda i: [rnd.choice(valid), rnd.choice(valid)])
    add(20, lambda i: f"192.0.2.{i % 32}", lambda i: [rnd.choice(valid)])
    add(10, lambda i: f"192.0.2.{32 + i}", lambda i: [rnd.choice(valid)])
    add(20, lambda i: f"198.18.8.{i}", lambda i: [rnd.choice(valid)],
        fromf=lambda i: f"<promo{i}@{'mx.' if i % 2 else ''}spam.example>")
    add(10, lambda i: f"198.18.9.{i}", lambda i: [rnd.choice(valid)],
        fromf=lambda i: f"<{1000 + i}@numbers.example>")
    add(15, lambda i: f"2001:db8::{i + 1:x}",
        lambda i: [f"<anyone{i}@local.example>"])
    add(20, lambda i: f"198.18.10.{i % 8}",
        lambda i: [f"<ghost{i}@local.example>"])
    add(10, lambda i: f"198.18.11.{i}",
        lambda i: [f"<staff{i}@local.example>"],
        namef=lambda i: f"relay{i}.example.net")
    add(10, lambda i: f"198.18.12.{i}", lambda i: [f"<x{i}@open.example>"],
        fromf=lambda i: "<>")
    add(20, lambda i: f"198.18.13.{i}",
        lambda i: [f"<someone{i}@elsewhere.example>"])
    add(6, lambda i: "192.0.2.99" if i % 2 else "192.0.2.96",
        lambda i: [f"<z{i}@elsewhere.example>"])
    add(10, lambda i: f"203.0.113.{i}" if i < 8 else f"192.0.2.{92 + i}",
        lambda i: [f"<who{i}@elsewhere.example>"])
    add(4, lambda i: f"203.0.113.{130 + i}",
        lambda i: [f"<y{i}@mx{i}.deadbl.test>"])
    return out


def mask(text):
    """The output without its first/last-decision times."""
    return re.sub(r"(?m)^(from|to)  .*$", r"\1  TIME", text)


def run_cases(workdir, names):
    """Run golden cases NAME.sh in workdir as tests/golden/logs/run does;
    returns {name: output}."""
    env = tool_env({"T": str(workdir)})
    out = {}
    for name in names:
        p = subprocess.run(["sh", f"{name}.sh"], cwd=workdir, env=env,
                           capture_output=True, text=True, timeout=120)
        out[name] = p.stdout + p.stderr + f"exit {p.returncode}\n"
        assert "Sanitizer" not in out[name], out[name]
    return out


@pytest.fixture(scope="module")
def corpus(rsyslog, devlog, resolver):
    rules = (GOLDEN / "corpus.rules").read_text()
    jail = Jail(rules)
    build_db(jail, "ipblock", "norelayfromip",
             "192.0.2.200-192.0.2.205 too many unknown users\n")
    build_db(jail, "cdb", "cbl.cdb",
             "".join(f"198.18.66.{i} 127.0.0.2\n" for i in range(1, 10)))
    build_db(jail, "cdb", "users.cdb",
             "".join(f"{u}@hosted.example\n" for u in USERS))
    h = SyslogHarness(jail, devlog, extra=[
        "-o", "dns_query_ms=300", "-o", "dns_budget_ms=1000"],
        env={"DNSCACHEIP": resolver})
    plan = sessions()
    half = len(plan) // 2
    try:
        # Two halves, more than a second apart, so that the log spans at
        # least two distinct seconds however fast the machine is (the
        # time-window test cuts between them).
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(
                lambda s: smtp_session(h, *s), plan[:half]))
        time.sleep(1.2)
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies += list(pool.map(
                lambda s: smtp_session(h, *s), plan[half:]))
    finally:
        errs = h.stop()
    jail.remove()
    decisions = sum(len([c for c in r if c != 421]) for r in replies)
    # every decision reaches both files
    for path in (rsyslog.mail_log, rsyslog.rfc3339_log):
        text = rsyslog.wait_lines(
            lambda t: t.count("smtp connection from") >= decisions,
            path=path)
        assert text.count("smtp connection from") == decisions, path
    work = Path(tempfile.mkdtemp(prefix="gk-corpus-"))
    shutil.copy(rsyslog.mail_log, work / "corpus.log")
    shutil.copy(rsyslog.rfc3339_log, work / "corpus-rfc3339.log")
    shutil.copy(GOLDEN / "corpus.rules", work / "corpus.rules")
    art = artefacts()
    shutil.copy(rsyslog.mail_log, art / "corpus-mail.log")
    yield {"plan": plan, "replies": replies, "work": work,
           "decisions": decisions, "errs": errs}
    shutil.rmtree(work, ignore_errors=True)


def test_sessions_were_real(corpus):
    """A few hundred sessions; every outcome is in the log."""
    assert len(corpus["plan"]) >= 300
    text = (corpus["work"] / "corpus.log").read_text()
    for what in ("allowed by line", "noto by line", "denied by line",
                 "noto with delay by line", "denied with delay by line",
                 "deferred by line", "default action, reached end of",
                 "DEBUG: Matched line 10,"):
        assert what in text, what
    # rsyslog's traditional prefix, then smtpd's tag and pid
    first = next(ln for ln in text.splitlines() if "smtp connection" in ln)
    assert re.match(r"^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ "
                    r"smtpd\[\d+\]: smtp connection from ", first), first
    rfc = (corpus["work"] / "corpus-rfc3339.log").read_text()
    first = next(ln for ln in rfc.splitlines() if "smtp connection" in ln)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d "
                    r"\S+ smtpd\[\d+\]: smtp connection from ", first), first


def test_counts_agree_with_the_clients(corpus):
    """maildenied's totals are what the SMTP clients were told: 250 for
    each allowed recipient, a refusal or a deferral for the others."""
    replies = corpus["replies"]
    allowed = sum(c == 250 for r in replies for c in r)
    p = run_tool(["maildenied", str(corpus["work"] / "corpus.log")])
    m = re.search(r"^(\d+) allowed; (\d+) denied; (\d+) total; (\d+)% denied$",
                  p.stdout, re.M)
    assert m, p.stdout
    d = re.search(r"^(\d+) deferred", p.stdout, re.M)
    deferred = int(d.group(1)) if d else 0
    assert int(m.group(1)) == allowed, p.stdout
    assert int(m.group(3)) + deferred == corpus["decisions"], p.stdout
    assert deferred == 4, p.stdout
    # the RFC 3339 file says the same
    q = run_tool(["maildenied", str(corpus["work"] / "corpus-rfc3339.log")])
    assert mask(q.stdout) == mask(p.stdout)


def test_golden_cases_on_the_fresh_log(corpus):
    """tests/golden/logs/corpus-*.sh: same output as on the stored log."""
    names = sorted(p.stem for p in GOLDEN.glob("corpus-*.sh"))
    assert names, "no corpus cases"
    for n in names:
        shutil.copy(GOLDEN / f"{n}.sh", corpus["work"])
    got = run_cases(corpus["work"], names)
    if os.environ.get("GOLDEN_UPDATE") == "1":
        shutil.copy(corpus["work"] / "corpus.log", GOLDEN / "corpus.log")
        shutil.copy(corpus["work"] / "corpus-rfc3339.log",
                    GOLDEN / "corpus-rfc3339.log")
        for n in names:
            (GOLDEN / f"{n}.out").write_text(got[n])
    for n in names:
        want = (GOLDEN / f"{n}.out").read_text()
        assert mask(got[n]) == mask(want), f"{n}:\n{got[n]}"


def test_window_splits_the_log(corpus):
    """A time window cut at a decision's own time stamp: the parts before
    and after add up to the whole."""
    log = corpus["work"] / "corpus-rfc3339.log"
    stamps = [ln.split(" ", 1)[0] for ln in log.read_text().splitlines()
              if "smtp connection from" in ln]
    seconds = sorted({st[:19] for st in stamps})
    assert len(seconds) >= 2, "the corpus spans two seconds (see corpus)"
    cut = seconds[len(seconds) // 2]
    tot = []
    for args in (["-e", cut], ["-s", cut]):
        p = run_tool(["maildenied"] + args + [str(log)])
        m = re.search(r"^(\d+) allowed; (\d+) denied", p.stdout, re.M)
        d = re.search(r"^(\d+) deferred", p.stdout, re.M)
        tot.append(int(m.group(1)) + int(m.group(2)) +
                   (int(d.group(1)) if d else 0))
    assert sum(tot) == corpus["decisions"]
    assert tot[0] > 0 and tot[1] > 0
