# test_smtpd_crash.py - SIGKILL at random moments under load. Client
# threads send messages to smtpd's daemon mode without pause while a
# killer SIGKILLs session children every few tens of milliseconds and,
# every two seconds or so, the master itself (then starts a new one on
# the same port; the orphaned children finish their sessions). A reader
# scans spool/new all the while and checks every file it sees. In the
# end: every message a client saw "250" for is in new/, byte for byte;
# no file in new/ was ever partial; each one is a message a client sent.
# Files of killed sessions may stay in tmp/ (smtpfwdd never looks there).
# SPDX-License-Identifier: BSD-2-Clause

import os
import random
import signal
import smtplib
import threading
import time

import pytest

from smtpd_fixtures import Jail, SpoolFile
from smtpd_harness import DaemonHarness, children_of, gone

DURATION = 8.0          # seconds of load
CLIENTS = 6             # sending threads
CHILD_KILL_EVERY = (0.02, 0.08)
MASTER_KILL_EVERY = (1.5, 2.5)


def body_for(token):
    """A deterministic message of 200 B to 40 KB for token."""
    rnd = random.Random(token)
    lines = [b"X-Token: %s" % token.encode(), b"Subject: crash test",
             b""]
    for i in range(rnd.randrange(2, 500)):
        lines.append(b"%d " % i + bytes(rnd.choice(b"abcdefgh .")
                                        for _ in range(rnd.randrange(70))))
    return b"\r\n".join(lines) + b"\r\n"


def stored(msg):
    return msg.replace(b"\r\n", b"\n")


@pytest.fixture
def jail():
    j = Jail("allow:ALL:ALL:ALL\n")
    yield j
    j.remove()


def test_sigkill_never_loses_or_tears_a_message(jail):
    stop = threading.Event()
    acked, errors, seen = set(), [], {}
    lock = threading.Lock()
    state = {"h": DaemonHarness(jail, extra=["-H"]), "orphans": [],
             "old": [], "children_killed": 0, "masters_killed": 0}
    port = state["h"].port

    def client(n):
        i = 0
        while not stop.is_set():
            i += 1
            token = f"c{n}-m{i}"
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
                    c.sendmail(f"s{n}@example.org", [f"r{n}@example.net"],
                               body_for(token))
                with lock:
                    acked.add(token)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.01)

    def reader():
        new = jail.new
        while True:
            done = stop.is_set()
            for name in os.listdir(new):
                if name in seen:
                    continue
                try:
                    f = SpoolFile(new / name)
                    token = f.message.split(b"\n", 1)[0].split(b" ")[1]
                    token = token.decode()
                    assert f.message == stored(body_for(token)), name
                    seen[name] = token
                except Exception as e:          # noqa: BLE001 - collected
                    errors.append(f"{name}: {e!r}")
                    seen[name] = None
            if done:
                return
            time.sleep(0.005)

    def killer():
        rnd = random.Random(1)
        next_master = time.monotonic() + rnd.uniform(*MASTER_KILL_EVERY)
        while not stop.is_set():
            time.sleep(rnd.uniform(*CHILD_KILL_EVERY))
            h = state["h"]
            kids = children_of(h.pid)
            if kids:
                try:
                    os.kill(rnd.choice(kids), signal.SIGKILL)
                    state["children_killed"] += 1
                except ProcessLookupError:
                    pass        # it had just finished
            if time.monotonic() >= next_master:
                state["orphans"] += children_of(h.pid)
                os.kill(h.pid, signal.SIGKILL)
                state["masters_killed"] += 1
                h.proc.wait()
                state["old"].append(h)
                state["h"] = DaemonHarness(jail, extra=["-H"], port=port)
                next_master = time.monotonic() + \
                    rnd.uniform(*MASTER_KILL_EVERY)

    threads = [threading.Thread(target=client, args=(n,))
               for n in range(CLIENTS)]
    threads += [threading.Thread(target=reader),
                threading.Thread(target=killer)]
    for t in threads:
        t.start()
    try:
        time.sleep(DURATION)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        state["h"].stop()
        for h in state["old"]:
            h.stop(check=False)
        for pid in state["orphans"]:
            assert gone(pid, 30), f"orphaned session {pid} still running"

    assert not errors, errors[:5]
    final = {}
    for p in jail.new.iterdir():
        f = SpoolFile(p)
        token = f.message.split(b"\n", 1)[0].split(b" ")[1].decode()
        assert f.message == stored(body_for(token))
        final[p.name] = token
    in_spool = set(final.values())
    lost = acked - in_spool
    print(f"\ncrash test: {len(acked)} messages acknowledged, "
          f"{len(final)} files in new/, {len(in_spool)} distinct; "
          f"{state['children_killed']} children and "
          f"{state['masters_killed']} masters killed; "
          f"{len(list(jail.tmp.iterdir()))} files left in tmp/")
    assert not lost, sorted(lost)[:10]
    assert len(acked) > 50, "too little load to mean anything"
    assert state["children_killed"] > 20 and state["masters_killed"] >= 2
