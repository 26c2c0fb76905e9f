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
PROGRAMS  := rulecheck
rulecheck_MAIN := rules/rulecheck.c
rulecheck_LIBS := rules gk

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

$(OWFAT_A) $(OWFAT_H):
	@echo "libowfat is not unpacked in $(DEPS): run scripts/install-deps (as root)" >&2
	@exit 1

# archive VARIANT NAME: one directory's archive
define archive
$(B)/$(1)/lib$(2).a: $$(patsubst %.c,$(B)/$(1)/%.o,$$($(2)_SRC))
	rm -f $$@ && ar rcs $$@ $$^
endef
# program VARIANT NAME: one program (VARIANT_LDFLAGS: rel_LDFLAGS, ...)
define program
$(B)/$(1)/bin/$(2): $(B)/$(1)/$$($(2)_MAIN:.c=.o) $$(foreach a,$$($(2)_LIBS),$(B)/$(1)/lib$$(a).a) $$(OWFAT_A)
	$$(CC) $$($(1)_LDFLAGS) -o $$@ $$< $$(foreach a,$$($(2)_LIBS),$(B)/$(1)/lib$$(a).a) $$(LDLIBS)
endef
rel_LDFLAGS :=
asan_LDFLAGS := $(ASAN_LDFLAGS)
# variant NAME CFLAGS LDFLAGS: objects, archives, programs, unit tests
define variant
$(1)_TEST_A := $$(foreach a,$$(TEST_LIBS),$(B)/$(1)/lib$$(a).a)
$(B)/$(1)/%.o: %.c $$(OWFAT_H) | $(B)/$(1)/.dirs
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $(2) -MMD -MP -c -o $$@ $$<
$(B)/$(1)/.dirs:
	@mkdir -p $(B)/$(1)/bin $(B)/$(1)/tests/unit $(B)/$(1)/bench
	@touch $$@
$$(foreach a,$$(ARCHIVES),$$(eval $$(call archive,$(1),$$(a))))
$$(foreach p,$$(PROGRAMS),$$(eval $$(call program,$(1),$$(p))))
$(B)/$(1)/tests/unit/%: $(B)/$(1)/tests/unit/%.o $(B)/$(1)/tests/t.o $$($(1)_TEST_A) $$(OWFAT_A)
	$$(CC) $(3) -o $$@ $$< $(B)/$(1)/tests/t.o $$($(1)_TEST_A) $$(LDLIBS)
$(B)/$(1)/bench/%: $(B)/$(1)/bench/%.o $$($(1)_TEST_A) $$(OWFAT_A)
	$$(CC) $(3) -o $$@ $$< $$($(1)_TEST_A) $$(LDLIBS)
$(1): $$(addprefix $(B)/$(1)/bin/,$$(PROGRAMS)) $$(addprefix $(B)/$(1)/tests/unit/,$$(UNITS))
-include $$(shell find $(B)/$(1) -name '*.d' 2>/dev/null)
endef
$(eval $(call variant,rel,$(REL_CFLAGS),))
$(eval $(call variant,asan,$(ASAN_CFLAGS),$(ASAN_LDFLAGS)))
.PHONY: rel asan
.SECONDARY:

check: rel asan
	@CI="$${CI:-}" PYTHON="$(PYTHON)" B="$(B)" sh tests/run-checks

lint:
	@sh tests/lint

# Fuzzing with libFuzzer (clang): `make fuzz` runs each target FUZZ_SECONDS.
FUZZ_CFLAGS := $(CSTD) -O1 -g $(WARN) -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all -Wno-unused-parameter
$(B)/fuzz/%: tests/fuzz/%.c $(ALL_LIB_SRC) $(OWFAT_A)
	@mkdir -p $(B)/fuzz
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(ALL_LIB_SRC) $(LDLIBS)
fuzz: $(addprefix $(B)/fuzz/,$(FUZZERS))
	@for f in $(FUZZERS); do \
		sh tests/fuzz/run $$f $(FUZZ_SECONDS) || exit 1; \
	done
fuzz-quick:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

bench: $(addprefix $(B)/rel/bench/,$(BENCHES)) rel
	@for b in $(BENCHES); do ./$(B)/rel/bench/$$b || exit 1; done

install: rel
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	for p in $(PROGRAMS); do install -m 0755 $(B)/rel/bin/$$p $(DESTDIR)$(SBINDIR)/$$p; done
	for m in docs/*.5; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man5/; done; true
	for m in docs/*.8; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man8/; done; true

deps:
	sh scripts/install-deps

clean:
	rm -rf $(B)/rel $(B)/asan $(B)/fuzz $(B)/test
