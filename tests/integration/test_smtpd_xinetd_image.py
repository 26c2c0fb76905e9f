# test_smtpd_xinetd_image.py - smtpd under a real xinetd maps the rules
# image that `rulecheck -C` wrote into its jail, and decides every RCPT
# exactly as `rulecheck -I` (the image) and plain rulecheck (the text)
# say: same reply, same deciding line in the log. When the image cannot
# be used (the rules file changed after rulecheck -C, the image is not
# root's), each session logs one warning, compiles the text and decides
# the same.
# SPDX-License-Identifier: BSD-2-Clause

import os
import re
import subprocess

import pytest

from conftest import gk_build, need_binary
from smtpd_fixtures import TEST_USER, Jail, connect
from smtpd_harness import XinetdHarness

HEAD = """# test_smtpd_xinetd_image.py
deny:10.0.0.0/8:ALL:ALL:554 never us
noto:127.0.0.0/8:/^spam[0-9]*@/:ALL:550 5.7.1 no spam from %F%C %I
noto:ALL:ALL:*@blocked.example.test:550 5.7.1 %T is blocked (%% of 100)
noto:ALL:*@*.bad.example.test:ALL:551 bad sender domain
noto:127.0.0.1:ALL:/^postmaster@/:550 no postmaster here
"""


def rules_text():
    """HEAD, 2,000 lines that never match 127.0.0.1 or the test domains
    (netblocks and sender domains, as a large file has them), then the
    lines that decide the rest."""
    lines = [HEAD.rstrip("\n")]
    for i in range(2000):
        if i % 2:
            lines.append(f"deny:172.{16 + i % 16}.{i % 250}.0/24:ALL:ALL:"
                         f"554 block {i}")
        else:
            lines.append(f"noto:ALL:*@spam{i}.example.net:ALL:550 s{i}")
    lines.append("noto:ALL:ALL:*@late.example.test:550 5.1.1 late %T")
    lines.append("allow:ALL:ALL:ALL")
    return "\n".join(lines) + "\n"


CONTEXTS = [
    ("<a@example.test>", "<u@example.test>"),
    ("<spam42@example.test>", "<u@example.test>"),
    ("<a@example.test>", "<x@blocked.example.test>"),
    ("<a@mx.bad.example.test>", "<u@example.test>"),
    ("<a@example.test>", "<postmaster@example.test>"),
    ("<a@example.test>", "<u@late.example.test>"),
    ("<>", "<u@example.test>"),
]

INSIDE = "/etc/smtpd_check_rules"


def rulecheck(rules, frm, to, image):
    exe = need_binary(gk_build() / "bin" / "rulecheck")
    argv = [str(exe)] + (["-I"] if image else []) + [
        "-c", str(rules), "-i", "127.0.0.1", "-h", "UNKNOWN", "-f", frm,
        "-t", to]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    d = {}
    for ln in p.stdout.splitlines():
        k, _, v = ln.partition(": ")
        d.setdefault(k, v)
    return d


def session(h, frm, to):
    s = connect(h)
    assert s.reply()[0] == 220
    assert s.cmd("EHLO image.example.org")[0] == 250
    assert s.cmd(f"MAIL FROM:{frm}")[0] == 250
    code, lines = s.cmd(f"RCPT TO:{to}")
    try:
        s.cmd("QUIT")
    except (EOFError, OSError):
        pass
    s.close()
    return code, lines[-1]


def decisions(h, rules, image=True):
    """Each context through smtpd; checked against rulecheck from the
    text and (if usable) from the image. Returns smtpd's log."""
    for frm, to in CONTEXTS:
        want = rulecheck(rules, frm, to, image=False)
        if image:
            assert want == rulecheck(rules, frm, to, image=True)
        code, reply = session(h, frm, to)
        if want["action"] == "allow":
            assert code == 250, (want, reply)
        else:
            assert reply == want["reply"], (want, reply)
    h.wait()
    log = h.logs()
    got = [re.sub(r"^.*?smtp connection from", "smtp connection from", ln)
           for ln in log.splitlines() if "smtp connection from" in ln]
    want = [re.sub(r" of \S+$", f" of {INSIDE}",
                   rulecheck(rules, frm, to, image=False)["log"])
            for frm, to in CONTEXTS]
    assert got[-len(CONTEXTS):] == want, log
    return log


@pytest.fixture
def jail():
    j = Jail(rules_text())
    yield j
    j.remove()


def compile_image(rules):
    exe = need_binary(gk_build() / "bin" / "rulecheck")
    p = subprocess.run([str(exe), "-C", "-c", str(rules)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().endswith(" rules"), p.stdout
    image = rules.parent / (rules.name + ".image")
    st = image.stat()
    assert st.st_uid == 0 and st.st_mode & 0o022 == 0, oct(st.st_mode)
    return image


def test_xinetd_uses_the_image(jail):
    rules = jail.path / "etc" / "smtpd_check_rules"
    compile_image(rules)
    h = XinetdHarness(jail, extra=["-H"])
    try:
        log = decisions(h, rules)
    finally:
        h.stop()
    used = re.findall(r"event=rules-image file=/etc/smtpd_check_rules"
                      r"\.image rules=(\d+)", log)
    assert len(used) == len(CONTEXTS), log
    assert "not used" not in log, log
    assert "rules-error" not in log, log


@pytest.mark.parametrize("spoil, why", [
    ("touch", "stale: the rules file changed after rulecheck -C"),
    ("chown", "not owned by root"),
    ("chmod", "writable by group or others"),
    ("corrupt", "corrupt header"),
])
def test_unusable_image_warns_and_decides_the_same(jail, spoil, why):
    rules = jail.path / "etc" / "smtpd_check_rules"
    image = compile_image(rules)
    if spoil == "touch":
        st = rules.stat()
        os.utime(rules, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    elif spoil == "chown":
        import pwd
        os.chown(image, pwd.getpwnam(TEST_USER).pw_uid, -1)
    elif spoil == "chmod":
        os.chmod(image, 0o664)
    else:
        with open(image, "r+b") as f:
            f.seek(200)
            b = f.read(1)
            f.seek(200)
            f.write(bytes([b[0] ^ 0x55]))
    h = XinetdHarness(jail, extra=["-H"])
    try:
        log = decisions(h, rules, image=False)
    finally:
        h.stop()
    warned = [ln for ln in log.splitlines()
              if "event=rules-image" in ln and "not used" in ln]
    assert len(warned) == len(CONTEXTS), log
    assert all(why in ln for ln in warned), warned
    assert "rules=" not in " ".join(ln for ln in log.splitlines()
                                    if "event=rules-image" in ln), log
