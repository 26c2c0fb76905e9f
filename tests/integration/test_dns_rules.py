# test_dns_rules.py - rules that need DNS, decided by rulecheck against
# real servers on loopback: unbound (127.0.0.70) with the zones in
# data/zones.conf and data/cname.test.zone, rbldnsd (127.0.0.71) for
# dnsbl.test (data/dnsbl.ip4, data/dnsbl.ip6), and a dead server
# (127.0.0.72) that never answers. Client addresses are TEST-NET; they
# are rule inputs only.
#
# The DNS facts the tests rely on:
#   192.0.2.10    PTR good.example.test, which has A 192.0.2.10 (confirmed)
#   192.0.2.66    PTR mail.bigbank.test, A 198.51.100.120 (spoofed)
#   192.0.2.67    PTR relay.mci.test, A 198.51.100.25 (spoofed mci name)
#   192.0.2.77    no PTR
#   198.51.100.25 PTR relay.mci.test, confirmed
#   203.0.113.5   no PTR; its reverse zone's NS is ns1.mci.test
#   2001:db8::10  PTR good6.example.test, AAAA 2001:db8::10 (confirmed)
#   2001:db8::66  PTR good6.example.test (not confirmed)
#   example.test  NS ns1/ns2.example.test (192.0.2.53/54), MX mx1 (.25)
#   mci.test      NS ns1/ns2.mci.test (198.51.100.53/54), MX mail.mci.test
#   spammy.test   NS ns1.classoffers.test, MX mx.classoffers.test
#   loopmx.test   MX on 127.0.0.1;  zeromx.test  MX on 0.0.0.0
#   loopns.test   NS on 127.0.0.1, MX mx1.example.test
#   zerons.test   NS on 0.0.0.0, MX mx1.example.test
#   listedns.test NS ns.listedns.test = 192.0.2.99 (in dnsbl.test)
#   bare.example.test only a TXT; nothing.test does not exist;
#   aonly.test only an A; mxonly.example.test only an MX
#   dnsbl.test    192.0.2.99 -> 127.0.0.2, 192.0.2.96 -> 127.0.0.5,
#                 192.0.2.98 -> 127.255.255.254 (error), 192.0.2.97 ->
#                 10.0.0.1 (error), 2001:db8::99 -> 127.0.0.3
#   deadbl.test   delegated to the dead server
#   servfail.test the dead server answers SERVFAIL for it
#   127.0.0.73    no server listens there
# SPDX-License-Identifier: BSD-2-Clause

import pytest

import dnsfixtures

GOOD = "192.0.2.10"

# The seed talk's lines, with .net/.com made .test.
SEED_NS_LOCALHOST = ("deny:ALL:ALL@NS=127.0.0.1 ALL@NS=0.0.0.0:ALL:"
                     "571 NO NS/MX records = 127.0.0.1")
SEED_MX_LOCALHOST = ("deny:ALL:ALL:MX=127.0.0.1 MX=0.0.0.0:"
                     "571 NO MX records where = 127.0.0.1 %H (%I)")
SEED_NS_UNKNOWN = ("deny:ALL:NS=UNKNOWN:ALL:"
                   "550 must supply valid source with MX or A")
SEED_MCI = ("deny:ALL EXCEPT NS=*.mci.test:*@mci.test:ALL:"
            "571 no forged mci email")


def assert_allowed(d):
    """No line matched and the default (allow) applied."""
    assert d.status == 0, d
    assert d.line == 0 and d.action == "allow", d


def assert_decided(d, line, action, reply=None):
    assert d.status == 0, d
    assert (d.line, d.action) == (line, action), d
    if reply is not None:
        assert d["reply"] == reply, d


def assert_tempfail(d, line=None):
    """A temporary failure: 451, never an accept, never a 5xx."""
    assert d.status == 0, d
    assert d.action == "tempfail", d
    assert d["reply"].startswith("451"), d
    assert d["reason"], d
    if line is not None:
        assert d.line == line, d


# --- NS= and MX= ----------------------------------------------------------

@pytest.mark.parametrize("sender, denied", [
    ("joe@spammy.test", True),
    ("joe@sub.spammy.test", True),      # walks up to spammy.test
    ("joe@example.test", False),
    ("joe@mci.test", False),
])
def test_ns_by_name_glob(rulecheck, sender, denied):
    d = rulecheck("deny:ALL:NS=*classoffers.test:ALL:"
                  "571 spam hosting classoffers", GOOD, frm=sender,
                  to="u@example.test", name="good.example.test")
    if denied:
        assert_decided(d, 1, "deny", "571 spam hosting classoffers")
    else:
        assert_allowed(d)


@pytest.mark.parametrize("sender, denied", [
    ("joe@mci.test", True),
    ("joe@example.test", False),
])
def test_ns_by_regex(rulecheck, sender, denied):
    d = rulecheck(r"deny:ALL:NS=/^ns[0-9]\.mci\.test$/:ALL:550 regex",
                  GOOD, frm=sender, to="u@example.test")
    assert (d.line, d.action) == ((1, "deny") if denied else (0, "allow")), d


@pytest.mark.parametrize("token, sender, denied", [
    ("NS=198.51.100.0/24", "joe@mci.test", True),
    ("NS=198.51.100.0/24", "joe@example.test", False),
    ("NS=192.0.2.53", "joe@example.test", True),     # ns1.example.test
    ("NS=192.0.2.25", "joe@example.test", True),     # its MX counts too
    ("NS=192.0.2.53", "joe@mci.test", False),
    ("NS=RBL.dnsbl.test", "joe@listedns.test", True),
    ("NS=RBL.dnsbl.test", "joe@example.test", False),
])
def test_ns_by_address(rulecheck, token, sender, denied):
    d = rulecheck(f"deny:ALL:{token}:ALL:550 by address", GOOD,
                  frm=sender, to="u@example.test")
    assert (d.line, d.action) == ((1, "deny") if denied else (0, "allow")), d


def test_mx_is_only_mx(rulecheck):
    # loopns.test: its name server is on 127.0.0.1, its MX is not
    ns = rulecheck("deny:ALL:ALL:NS=127.0.0.1:550 ns", GOOD,
                   frm="a@example.test", to="b@loopns.test")
    assert_decided(ns, 1, "deny")
    mx = rulecheck("deny:ALL:ALL:MX=127.0.0.1:550 mx", GOOD,
                   frm="a@example.test", to="b@loopns.test")
    assert_allowed(mx)
    mx = rulecheck("deny:ALL:ALL:MX=127.0.0.1:550 mx", GOOD,
                   frm="a@example.test", to="b@loopmx.test")
    assert_decided(mx, 1, "deny")
    # MX= by name
    mx = rulecheck("deny:ALL:ALL:MX=mx1.example.test:550 mx", GOOD,
                   frm="a@example.test", to="b@loopns.test")
    assert_decided(mx, 1, "deny")
    mx = rulecheck("deny:ALL:ALL:MX=ns.loopns.test:550 mx", GOOD,
                   frm="a@example.test", to="b@loopns.test")
    assert_allowed(mx)


@pytest.mark.parametrize("sender, denied", [
    ("joe@loopmx.test", True),
    ("joe@zeromx.test", True),
    ("joe@loopns.test", True),
    ("joe@zerons.test", True),
    ("JOE@LOOPMX.TEST", True),
    ("<joe@loopmx.test>", True),
    ("joe@example.test", False),
    ("joe@nothing.test", False),
    ("<>", False),
])
def test_seed_sender_ns_localhost(rulecheck, sender, denied):
    d = rulecheck(SEED_NS_LOCALHOST, GOOD, frm=sender, to="u@example.test",
                  name="good.example.test")
    if denied:
        assert_decided(d, 1, "deny", "571 NO NS/MX records = 127.0.0.1")
        assert "denied by line 1 of" in d["log"], d
    else:
        assert_allowed(d)


@pytest.mark.parametrize("rcpt, denied", [
    ("u@loopmx.test", True),
    ("u@zeromx.test", True),
    ("u@loopns.test", False),       # NS on 127.0.0.1 but MX is fine
    ("u@zerons.test", False),
    ("u@example.test", False),
])
def test_seed_rcpt_mx_localhost(rulecheck, rcpt, denied):
    d = rulecheck(SEED_MX_LOCALHOST, GOOD, frm="a@example.test", to=rcpt,
                  name="good.example.test")
    if denied:
        assert_decided(d, 1, "deny", "571 NO MX records where = 127.0.0.1 "
                       "good.example.test (192.0.2.10)")
    else:
        assert_allowed(d)


# --- the seed's mci rule ----------------------------------------------------

@pytest.mark.parametrize("ip, how, denied", [
    # mci's own relay, forward-confirmed: may use @mci.test
    ("198.51.100.25", {"resolve": True}, False),
    ("198.51.100.25", {"name": "relay.mci.test"}, False),
    # no name, but its reverse zone is served by ns1.mci.test
    ("203.0.113.5", {"resolve": True}, False),
    # someone else's host
    (GOOD, {"resolve": True}, True),
    # a spoofed PTR claiming relay.mci.test counts for nothing
    ("192.0.2.67", {"resolve": True}, True),
    ("192.0.2.77", {"resolve": True}, True),
    ("2001:db8::10", {"resolve": True}, True),
])
def test_seed_mci_forgery(rulecheck, ip, how, denied):
    d = rulecheck(SEED_MCI, ip, frm="joe@mci.test", to="u@example.test",
                  **how)
    if denied:
        assert_decided(d, 1, "deny", "571 no forged mci email")
    else:
        assert_allowed(d)


def test_seed_mci_other_senders_untouched(rulecheck):
    d = rulecheck(SEED_MCI, GOOD, frm="joe@example.test", to="u@mci.test",
                  resolve=True)
    assert_allowed(d)


def test_spoofed_ptr_is_unknown_in_log(rulecheck):
    d = rulecheck(SEED_MCI, "192.0.2.67", frm="joe@mci.test",
                  to="u@example.test", resolve=True)
    assert "UNKNOWN@UNKNOWN(192.0.2.67)" in d["log"], d
    d = rulecheck(SEED_MCI, "198.51.100.25", frm="joe@example.test",
                  to="u@example.test", resolve=True)
    assert "@relay.mci.test(198.51.100.25)" in d["log"], d


def test_client_ns_ipv6_reverse_zone(rulecheck):
    # 2001:db8::77 has no PTR: its domain is its ip6.arpa name, whose
    # zone 8.b.d.0.1.0.0.2.ip6.arpa is served by ns1.example.test
    d = rulecheck("deny:NS=ns1.example.test:ALL:ALL:550 v6", "2001:db8::77",
                  frm="a@example.test", to="u@example.test", resolve=True)
    assert_decided(d, 1, "deny")


# --- NS=UNKNOWN / NS=KNOWN ------------------------------------------------

@pytest.mark.parametrize("sender, denied", [
    ("joe@bare.example.test", True),    # exists, no A, no NS/MX
    ("joe@nothing.test", True),         # NXDOMAIN
    ("joe@example.test", False),
    ("joe@aonly.test", False),          # an A is enough
    ("joe@mxonly.example.test", False),  # an MX is enough
    ("joe@mci.test", False),
    ("joe@www.cname.test", False),      # A through a CNAME chain
    ("<>", False),                      # bounces have no domain
])
def test_seed_ns_unknown(rulecheck, sender, denied):
    d = rulecheck(SEED_NS_UNKNOWN, GOOD, frm=sender, to="u@example.test")
    if denied:
        assert_decided(d, 1, "deny",
                       "550 must supply valid source with MX or A")
    else:
        assert_allowed(d)


def test_ns_known(rulecheck):
    rules = "allow:ALL:NS=KNOWN:ALL\ndeny:ALL:ALL:ALL:550 unknown domain\n"
    assert_decided(rulecheck(rules, GOOD, frm="a@example.test",
                             to="u@example.test"), 1, "allow")
    assert_decided(rulecheck(rules, GOOD, frm="a@bare.example.test",
                             to="u@example.test"), 2, "deny")


# --- KNOWN / UNKNOWN clients with -R (forward-confirmed reverse DNS) --------

KNOWN_RULES = ("allow:KNOWN:ALL:ALL\n"
               "deny:UNKNOWN:ALL:ALL:550 no confirmed name for %I (%H)\n")


@pytest.mark.parametrize("ip, known, name", [
    (GOOD, True, "good.example.test"),
    ("198.51.100.25", True, "relay.mci.test"),
    ("2001:db8::10", True, "good6.example.test"),
    ("192.0.2.66", False, None),        # PTR not confirmed (spoof)
    ("192.0.2.67", False, None),
    ("2001:db8::66", False, None),
    ("192.0.2.77", False, None),        # no PTR
    ("203.0.113.5", False, None),
])
def test_known_unknown_resolved(rulecheck, ip, known, name):
    d = rulecheck(KNOWN_RULES, ip, frm="a@example.test", to="u@example.test",
                  resolve=True)
    if known:
        assert_decided(d, 1, "allow")
        assert f"@{name}({ip})" in d["log"], d
    else:
        assert_decided(d, 2, "deny",
                       f"550 no confirmed name for {ip} (UNKNOWN)")


def test_name_glob_needs_confirmation(rulecheck):
    rules = ("deny:*.bigbank.test:ALL:ALL:550 bank\n"
             "allow:*.example.test:ALL:ALL\n")
    # 192.0.2.66 claims mail.bigbank.test: not confirmed, so neither
    # line matches it by name
    assert_allowed(rulecheck(rules, "192.0.2.66", frm="a@example.test",
                             to="u@example.test", resolve=True))
    assert_decided(rulecheck(rules, GOOD, frm="a@example.test",
                             to="u@example.test", resolve=True), 2, "allow")


def test_dnscacheip_is_used_without_s(rulecheck):
    d = rulecheck(KNOWN_RULES, GOOD, frm="a@example.test",
                  to="u@example.test", resolve=True, servers_flag=False)
    assert_decided(d, 1, "allow")


# --- DNSBL ------------------------------------------------------------------

RBL_RULE = "deny:RBL.dnsbl.test:ALL:ALL:554 5.7.1 %I listed in dnsbl.test (%V)"


@pytest.mark.parametrize("ip, value", [
    ("192.0.2.99", "127.0.0.2"),
    ("192.0.2.96", "127.0.0.5"),
    ("2001:db8::99", "127.0.0.3"),      # IPv6: nibble-reversed query
])
def test_rbl_listed(rulecheck, ip, value):
    d = rulecheck(RBL_RULE, ip, frm="a@example.test", to="u@example.test")
    assert_decided(d, 1, "deny",
                   f"554 5.7.1 {ip} listed in dnsbl.test ({value})")
    assert d["value"] == value, d


@pytest.mark.parametrize("ip", [GOOD, "192.0.2.77", "2001:db8::98"])
def test_rbl_not_listed(rulecheck, ip):
    assert_allowed(rulecheck(RBL_RULE, ip, frm="a@example.test",
                             to="u@example.test"))


@pytest.mark.parametrize("ip, code", [
    ("192.0.2.98", "127.255.255.254"),   # the list says "error"
    ("192.0.2.97", "10.0.0.1"),          # outside 127/8
])
def test_rbl_error_answers_tempfail(rulecheck, ip, code):
    d = rulecheck(RBL_RULE, ip, frm="a@example.test", to="u@example.test")
    assert_tempfail(d, line=1)
    assert code in d["reason"], d


def test_rbl_source_and_noto(rulecheck):
    rules = ("allow:192.0.2.96:ALL:ALL\n"
             "noto:RBL.dnsbl.test:ALL:ALL:550 %I is listed (%V)\n")
    # a line before the DNSBL decides without it
    assert_decided(rulecheck(rules, "192.0.2.96", frm="a@example.test",
                             to="u@example.test"), 1, "allow")
    assert_decided(rulecheck(rules, "192.0.2.99", frm="a@example.test",
                             to="u@example.test"), 2, "noto",
                   "550 192.0.2.99 is listed (127.0.0.2)")


def test_rbl_error_on_a_line_that_cannot_match(rulecheck):
    # the from field fails first, so the broken listing is never asked
    rules = "deny:RBL.dnsbl.test:nobody@nowhere.test:ALL:554 listed\n"
    assert_allowed(rulecheck(rules, "192.0.2.98", frm="a@example.test",
                             to="u@example.test"))


# --- DNS outages: a temporary failure, in bounded time -----------------------

OUTAGE_BOUND = 3.0


@pytest.mark.parametrize("rules, kw", [
    (SEED_NS_UNKNOWN, {"frm": "joe@bare.example.test"}),
    (SEED_NS_UNKNOWN, {"frm": "joe@example.test"}),
    (SEED_NS_LOCALHOST, {"frm": "joe@loopmx.test"}),
    (SEED_MX_LOCALHOST, {"to": "u@loopmx.test"}),
    (SEED_MCI, {"frm": "joe@mci.test", "name": "relay.mci.test"}),
    (RBL_RULE, {"ip": "192.0.2.99"}),
    (KNOWN_RULES, {"resolve": True}),
])
def test_dead_server_tempfails(rulecheck, dead_server, rules, kw):
    args = {"ip": GOOD, "frm": "a@example.test", "to": "u@example.test",
            "servers": dead_server, "query_ms": 500}
    args.update(kw)
    d = rulecheck(rules, **args)
    assert_tempfail(d, line=1)
    assert d.elapsed < OUTAGE_BOUND, d
    assert "deferred by line 1" in d["log"], d


def test_dead_server_rules_without_dns_still_decide(rulecheck, dead_server):
    rules = "allow:192.0.2.0/24:ALL:ALL\n" + SEED_NS_UNKNOWN + "\n"
    d = rulecheck(rules, GOOD, frm="joe@bare.example.test",
                  to="u@example.test", servers=dead_server, query_ms=5000)
    assert_decided(d, 1, "allow")
    assert d.elapsed < 2.5, d        # one query would have taken 5 s


def test_dead_server_many_dns_lines_bounded(rulecheck, dead_server):
    # every line needs DNS; the first failure ends the scan with 451
    rules = "\n".join([SEED_NS_LOCALHOST, SEED_MX_LOCALHOST, SEED_NS_UNKNOWN,
                       SEED_MCI, RBL_RULE, "deny:RBL.other.test:ALL:ALL"])
    d = rulecheck(rules, "192.0.2.99", frm="joe@mci.test",
                  to="u@loopmx.test", resolve=True, servers=dead_server,
                  query_ms=500)
    assert_tempfail(d)
    assert d.elapsed < OUTAGE_BOUND, d


def test_servfail_tempfails_at_once(rulecheck, dead_server):
    # the dead server answers SERVFAIL for servfail.test
    d = rulecheck(SEED_NS_UNKNOWN, GOOD, frm="joe@x.servfail.test",
                  to="u@example.test", servers=dead_server, query_ms=5000)
    assert_tempfail(d, line=1)
    assert "failure" in d["reason"], d
    assert d.elapsed < 2.5, d        # not the query's 5 s


def test_closed_server_tempfails_at_once(rulecheck):
    # no server listens on the address (a misconfigured server list)
    try:
        closed = dnsfixtures.closed_address()
    except dnsfixtures.PeerError as e:
        pytest.fail(str(e), pytrace=False)
    d = rulecheck(RBL_RULE, "192.0.2.99", frm="a@example.test",
                  to="u@example.test", servers=closed, query_ms=5000)
    assert_tempfail(d, line=1)
    assert d.elapsed < 2.5, d        # not the query's 5 s


def test_dead_delegation_through_resolver(rulecheck):
    # unbound is alive, but deadbl.test's server never answers it
    d = rulecheck("deny:RBL.deadbl.test:ALL:ALL:554 listed", "192.0.2.99",
                  frm="a@example.test", to="u@example.test", query_ms=500)
    assert_tempfail(d, line=1)
    assert d.elapsed < OUTAGE_BOUND, d


def test_budget_bounds_a_decision(rulecheck, dead_server):
    # queries may each wait 5 s, but the decision's budget is 700 ms
    d = rulecheck(SEED_NS_UNKNOWN, GOOD, frm="joe@bare.example.test",
                  to="u@example.test", servers=dead_server, query_ms=5000,
                  budget_ms=700)
    assert_tempfail(d, line=1)
    assert d.elapsed < 3.0, d        # not the query's 5 s
