# Makefile - smtpd, smtpfwdd, the rules engine, tools and tests.
# One non-recursive makefile. Targets: all check lint fuzz bench install
# clean. Two build variants: build/rel (-O2) and build/asan (ASan+UBSan);
# `make check` builds both and runs every test against them.
# SPDX-License-Identifier: BSD-2-Clause

PREFIX	?= /usr/local
DESTDIR	?=
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
CGIDIR	?= $(PREFIX)/lib/cgi-bin

CC	?= cc
PYTHON	?= /usr/bin/python3
FUZZ_SECONDS ?= 60

DEPS	:= build/deps
B	?= build
OWFAT_A	:= $(DEPS)/lib/libowfat.a
OWFAT_H	:= $(DEPS)/include/libowfat/dns.h

WARN	:= -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wvla
CPPFLAGS += -D_GNU_SOURCE -isystem $(DEPS)/include
CSTD	:= -std=c11
REL_CFLAGS  := $(CSTD) -O2 -g $(WARN) -fstack-protector-strong -D_FORTIFY_SOURCE=2
ASAN_CFLAGS := $(CSTD) -O1 -g $(WARN) -fno-omit-frame-pointer \
	       -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_LDFLAGS := -fsanitize=address,undefined
# Link order matters: our objects, then tinycdb, then libowfat's archive,
# so that cdb_* always resolves to tinycdb (tests/link/cdb-is-tinycdb).
LDLIBS	:= -lpcre2-8 -ldb -lcdb $(OWFAT_A) -ldl

# Programs. Each has one main() file (NAME_MAIN) and links the archives
# NAME_LIBS, in order. Every other .c file of a directory goes into that
# directory's archive: lib/ -> libgk.a, rules/ -> librules.a,
# smtpd/ -> libsmtpd.a, smtpfwdd/ -> libfwd.a, dbs/ -> libdbs.a.
PROGRAMS  := rulecheck smtpd
rulecheck_MAIN := rules/rulecheck.c
rulecheck_LIBS := rules gk
smtpd_MAIN := smtpd/smtpd.c
smtpd_LIBS := smtpd rules gk
PROGRAMS  += gkdb-build gkdb-query
gkdb-build_MAIN := dbs/gkdb-build.c
gkdb-build_LIBS := dbs rules gk
gkdb-query_MAIN := dbs/gkdb-query.c
gkdb-query_LIBS := dbs rules gk
PROGRAMS  += smtpfwdd
smtpfwdd_MAIN := smtpfwdd/smtpfwdd.c
smtpfwdd_LIBS := fwd gk
PROGRAMS  += logscan
logscan_MAIN := dbs/logscan.c
logscan_LIBS := dbs rules gk
# The log tools and the block-list cron job (POSIX sh, beside logscan in
# SBINDIR), and the self-service unblock CGI.
SCRIPTS   := maildenied grepruleip grepruledomain mailblock-update
CGIS      := mailblock

ARCHIVES  := gk rules smtpd fwd dbs
gk_DIR	  := lib
rules_DIR := rules
smtpd_DIR := smtpd
fwd_DIR	  := smtpfwdd
dbs_DIR	  := dbs
MAINS	  := $(foreach p,$(PROGRAMS),$($(p)_MAIN))
$(foreach a,$(ARCHIVES),$(eval $(a)_SRC := $(filter-out $(MAINS),$(sort $(wildcard $($(a)_DIR)/*.c)))))
ALL_LIB_SRC := $(foreach a,$(ARCHIVES),$($(a)_SRC))
# Link order for tests and fuzzers: most dependent first.
TEST_LIBS := smtpd fwd dbs rules gk
UNIT_SRC  := $(sort $(wildcard tests/unit/*_test.c))
UNITS	  := $(patsubst tests/unit/%.c,%,$(UNIT_SRC))
BENCH_SRC := $(sort $(wildcard bench/*_bench.c))
BENCHES	  := $(patsubst bench/%.c,%,$(BENCH_SRC))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/*_fuzz.c))
FUZZERS	  := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))

.PHONY: all check check-unit check-golden check-integration lint fuzz \
	fuzz-quick bench install clean deps
all: rel
.SECONDEXPANSION:

$(OWFAT_A) $(OWFAT_H):
	@echo "libowfat is not unpacked in $(DEPS): run scripts/install-deps (as root)" >&2
	@exit 1

# archive VARIANT NAME: one directory's archive
define archive
$(B)/$(1)/lib$(2).a: $$(patsubst %.c,$(B)/$(1)/%.o,$$($(2)_SRC))
	rm -f $$@ && ar rcs $$@ $$^
endef
# program VARIANT NAME: one program (VARIANT_LDFLAGS: rel_LDFLAGS, ...;
# VARIANT_NAME_LDFLAGS for one program of one variant)
define program
$(B)/$(1)/bin/$(2): $(B)/$(1)/$$($(2)_MAIN:.c=.o) $$(foreach a,$$($(2)_LIBS),$(B)/$(1)/lib$$(a).a) $$(OWFAT_A)
	$$(CC) $$($(1)_LDFLAGS) $$($(1)_$(2)_LDFLAGS) -o $$@ $$< $$(foreach a,$$($(2)_LIBS),$(B)/$(1)/lib$$(a).a) $$(LDLIBS)
endef
# Bind every symbol at start (full RELRO): a forked daemon child then
# pays no lazy binding of libdb and friends per session.
HARDEN_LDFLAGS := -Wl,-z,relro -Wl,-z,now
rel_LDFLAGS := $(HARDEN_LDFLAGS)
# smtpd runs once per connection in inetd mode: linked static-pie, it
# starts without the dynamic loader (loading libdb and PCRE2 cost about
# a millisecond a connection here), and a daemon's children fork from a
# smaller address space with fewer pages to copy. SMTPD_STATIC=no links
# it like the other programs. Static, a security update of libc6,
# libdb5.3, libpcre2-8-0 or tinycdb needs `make install` again
# (INSTALL). glibc warns at link time about getpwnam() and libdb's
# getaddrinfo() in a static program; those warnings are silenced here
# (--no-warnings; the dynamic asan build still shows any other): a
# static smtpd asks only glibc's built-in files service for its user
# and group (lib/priv.c), and libdb's replication code that calls
# getaddrinfo() is never used. The link map shows where each cdb_*
# came from (tests/link/cdb-is-tinycdb).
SMTPD_STATIC ?= yes
ifeq ($(SMTPD_STATIC),yes)
rel_smtpd_LDFLAGS := -static-pie -Wl,--no-warnings \
	-Wl,-Map,$(B)/rel/bin/smtpd.map
endif
asan_LDFLAGS := $(ASAN_LDFLAGS) $(HARDEN_LDFLAGS)
rel_CC	:= $(CC)
asan_CC	:= $(CC)
fuzz_CC	:= clang
# variant NAME CFLAGS LDFLAGS: objects, archives, programs, unit tests
define variant
$(1)_TEST_A := $$(foreach a,$$(TEST_LIBS),$(B)/$(1)/lib$$(a).a)
$(B)/$(1)/%.o: %.c $$(OWFAT_H) | $(B)/$(1)/.dirs
	@mkdir -p $$(dir $$@)
	$$($(1)_CC) $$(CPPFLAGS) $(2) -MMD -MP -c -o $$@ $$<
$(B)/$(1)/.dirs:
	@mkdir -p $(B)/$(1)/bin $(B)/$(1)/tests/unit $(B)/$(1)/bench
	@touch $$@
$$(foreach a,$$(ARCHIVES),$$(eval $$(call archive,$(1),$$(a))))
$$(foreach p,$$(PROGRAMS),$$(eval $$(call program,$(1),$$(p))))
$(B)/$(1)/tests/unit/%: $(B)/$(1)/tests/unit/%.o $(B)/$(1)/tests/t.o $$($(1)_TEST_A) $$(OWFAT_A)
	$$(CC) $(3) -o $$@ $$< $(B)/$(1)/tests/t.o $$($(1)_TEST_A) $$(LDLIBS)
$(B)/$(1)/bench/%: $(B)/$(1)/bench/%.o $$($(1)_TEST_A) $$(OWFAT_A)
	$$(CC) $(3) -o $$@ $$< $$($(1)_TEST_A) $$(LDLIBS)
$(1)-all: $$(addprefix $(B)/$(1)/bin/,$$(PROGRAMS)) $$(addprefix $(B)/$(1)/tests/unit/,$$(UNITS))
-include $$(shell find $(B)/$(1) -name '*.d' 2>/dev/null)
endef
# A rules image (rules/rule_image.c, rulecheck -C) is used only by the
# build that wrote it: its identity is a checksum of the sources it is
# compiled from, and rule_image.o is rebuilt whenever any of them change.
RULES_ID_SRC := $(sort $(wildcard rules/*.c rules/*.h lib/*.c lib/*.h)) Makefile
RULES_ID := $(firstword $(shell cat $(RULES_ID_SRC) | cksum))
$(B)/%/rules/rule_image.o: CPPFLAGS += -DRULES_BUILD_ID='"$(RULES_ID)"'
$(foreach v,rel asan fuzz,$(B)/$(v)/rules/rule_image.o): $(RULES_ID_SRC)
$(eval $(call variant,rel,$(REL_CFLAGS),))
$(eval $(call variant,asan,$(ASAN_CFLAGS),$(ASAN_LDFLAGS)))
# Fuzzing with libFuzzer: the archives are built by clang with coverage
# (fuzzer-no-link) in $(B)/fuzz; each fuzzer links only the archives it
# names (NAME_LIBS, default all), so an unrelated directory's state never
# breaks it. `make fuzz` runs each target FUZZ_SECONDS.
FUZZ_CFLAGS := $(CSTD) -O1 -g $(WARN) -fsanitize=fuzzer-no-link,address,undefined \
	       -fno-sanitize-recover=all -Wno-unused-parameter
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
$(eval $(call variant,fuzz,$(FUZZ_CFLAGS),$(FUZZ_LDFLAGS)))
rules_fuzz_LIBS := rules gk
session_fuzz_LIBS := smtpd rules gk
ipblock_load_fuzz_LIBS := rules gk
ipblock_line_fuzz_LIBS := dbs rules gk
sanitize_fuzz_LIBS := fwd gk
hashfile_fuzz_LIBS := rules gk
$(B)/fuzz/bin/%_fuzz: $(B)/fuzz/tests/fuzz/%_fuzz.o $$(foreach a,$$(or $$($$*_fuzz_LIBS),$$(TEST_LIBS)),$(B)/fuzz/lib$$(a).a) $(OWFAT_A)
	clang $(FUZZ_LDFLAGS) -o $@ $< $(foreach a,$(or $($*_fuzz_LIBS),$(TEST_LIBS)),$(B)/fuzz/lib$(a).a) $(LDLIBS)
rel: rel-all
asan: asan-all
.PHONY: rel asan rel-all asan-all
.SECONDARY:

check: rel asan
	@CI="$${CI:-}" PYTHON="$(PYTHON)" B="$(B)" sh tests/run-checks

lint:
	@sh tests/lint

fuzz: $(addprefix $(B)/fuzz/bin/,$(FUZZERS))
	@for f in $(FUZZERS); do \
		sh tests/fuzz/run $$f $(FUZZ_SECONDS) || exit 1; \
	done
fuzz-quick:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

bench: $(addprefix $(B)/rel/bench/,$(BENCHES)) $(B)/rel/bench/smtpd_bench_floor \
    $(B)/rel/bench/smtpd_bench_floor_static rel
	@for b in $(BENCHES); do ./$(B)/rel/bench/$$b || exit 1; done
	$(PYTHON) bench/smtpd_bench.py -B $(B)
# smtpd_bench.py's reference server: a program on its own, no archives;
# built as any C program is, and (for -d) linked like smtpd.
$(B)/rel/bench/smtpd_bench_floor_static: FLOOR_LINK = -static-pie
$(B)/rel/bench/smtpd_bench_floor $(B)/rel/bench/smtpd_bench_floor_static: \
    bench/smtpd_bench_floor.c | $(B)/rel/.dirs
	$(CC) $(CPPFLAGS) $(REL_CFLAGS) $(FLOOR_LINK) -o $@ $<

# run: the whole product in the foreground (README): smtpd on
# 127.0.0.1:$(RUN_PORT) with smtpfwdd/run/example.rules, smtpfwdd
# delivering into $(RUN_DIR)/Maildir. Ctrl-C stops both.
RUN_PORT ?= 2525
RUN_DIR	 ?= $(B)/run
.PHONY: run
run: rel
	@$(PYTHON) smtpfwdd/run/run-local --build $(B)/rel --dir $(RUN_DIR) \
		--port $(RUN_PORT)

install: rel
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	for p in $(PROGRAMS); do install -m 0755 $(B)/rel/bin/$$p $(DESTDIR)$(SBINDIR)/$$p; done
	for s in $(SCRIPTS); do install -m 0755 scripts/$$s $(DESTDIR)$(SBINDIR)/$$s; done
	install -d $(DESTDIR)$(CGIDIR)
	for c in $(CGIS); do install -m 0755 scripts/$$c $(DESTDIR)$(CGIDIR)/$$c; done
	for m in docs/*.5; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man5/; done; true
	for m in docs/*.8; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man8/; done; true

deps:
	sh scripts/install-deps

clean:
	rm -rf $(B)/rel $(B)/asan $(B)/fuzz $(B)/test
