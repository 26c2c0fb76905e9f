#!/usr/bin/python3
# gen.py - (re)write the golden spool files of this directory.
# Each NAME.spool is a spool file (docs/spool.5) whose ID is NAME; the
# runner copies it to a file called NAME and runs `smtpfwdd -n` on it.
# Run from anywhere: /usr/bin/python3 tests/golden/sanitize/gen.py
# SPDX-License-Identifier: BSD-2-Clause
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECEIVED = ("Received: from client.example (client.example [192.0.2.1])\n"
            "\tby mx.test.example (smtpd) with ESMTP id {id};\n"
            "\tSat, 23 Nov 2026 15:33:00 +0000\n")


def spool(name, sender="<alice@example.org>", rcpts=("<bob@example.net>",),
          body=None, states=None, extra=b"", fix_size=True, version="1",
          id_line=None):
    if body is None:
        body = (RECEIVED.format(id=name) +
                "Subject: hello\nFrom: alice@example.org\n\nHi Bob.\n"
                ).encode()
    lines = ["VERSION " + version, "ID " + (id_line or name),
             "TIME 1795000000", "CLIENT-IP 192.0.2.1",
             "CLIENT-NAME client.example", "HELO client.example",
             "PROTO ESMTP", "BODY-TYPE 8BITMIME",
             "SIZE %020d" % (len(body) if fix_size else len(body) + 1),
             "FROM " + sender]
    for i, r in enumerate(rcpts):
        lines.append("%s %s" % (states[i] if states else "RCPT", r))
    data = ("\n".join(lines) + "\n").encode() + extra + b"BODY\n" + body
    (HERE / (name + ".spool")).write_bytes(data)


spool("plain")
spool("batches", rcpts=["<r%d@example.net>" % i for i in range(5)])
spool("null-sender", sender="<>")
spool("dash-sender", sender="<-oQ/tmp@example.org>",
      rcpts=["<-oQ/tmp@example.net>"])
spool("legal-chars", sender="<a#b&c~d?e{f}g@example.org>",
      rcpts=["<\"john doe\"@example.net>", "<user+tag@[192.0.2.7]>",
             "<x@[IPv6:2001:db8::1]>", "<Postmaster>",
             "<o'brien@my_host.example.net>"])
spool("sent-marks", rcpts=["<a@example.net>", "<b@example.net>",
                           "<c@example.net>", "<d@example.net>"],
      states=["SENT", "RCPT", "FAIL", "RCPT"])
spool("all-sent", rcpts=["<a@example.net>"], states=["SENT"])
spool("extension", extra=b"X-SMTPD-NOTE anything printable\n")
spool("maildir", rcpts=["<a@example.net>", "<b@example.net>"])
# Refused: the file is held.
spool("option-rcpt", rcpts=["<-oQ/tmp>"])
spool("option-sender", sender="<-oQ/tmp>")
spool("source-route", rcpts=["<@relay.example:b@example.net>"])
spool("bad-domain", rcpts=["<b@exa_mple..net>"])
spool("long-local", rcpts=["<" + "l" * 65 + "@example.net>"])
spool("blank-in-path", rcpts=["<a b@example.net>"])
spool("wrong-id", id_line="another-id")
spool("version-2", version="2")
spool("truncated", fix_size=False)
spool("header-nul", body=(RECEIVED.format(id="header-nul") +
                          "X-Evil: a\0b\n\nbody\n").encode())
spool("header-cr", body=(RECEIVED.format(id="header-cr") +
                         "Subject: a\rBcc: victim@example.net\n\nbody\n"
                         ).encode())
spool("no-header", body=b"Hello, no header at all.\n")
spool("mail-loop", body=(RECEIVED.format(id="mail-loop") +
                         "Received: from relay\n" * 101 + "\nloop\n"
                         ).encode())
spool("body-8bit-nul", body=(RECEIVED.format(id="body-8bit-nul") +
                             "Subject: binary\n\n\xe9\xff\0\r\n.\n"
                             ).encode("latin-1"))
