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

# Sources. lib/ is libgk.a, rules/ is librules.a; main() files are listed.
LIB_SRC	  := $(sort $(wildcard lib/*.c))
MAINS	  := rules/rulecheck.c
RULES_SRC := $(filter-out $(MAINS),$(sort $(wildcard rules/*.c)))
PROGRAMS  := rulecheck
rulecheck_SRC := rules/rulecheck.c
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

# variant NAME CFLAGS LDFLAGS: objects, archives, programs, unit tests
define variant
$(1)_OBJ_LIB   := $$(patsubst %.c,$(B)/$(1)/%.o,$$(LIB_SRC))
$(1)_OBJ_RULES := $$(patsubst %.c,$(B)/$(1)/%.o,$$(RULES_SRC))
$(B)/$(1)/%.o: %.c $$(OWFAT_H) | $(B)/$(1)/.dirs
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $(2) -MMD -MP -c -o $$@ $$<
$(B)/$(1)/.dirs:
	@mkdir -p $(B)/$(1)/bin $(B)/$(1)/tests/unit $(B)/$(1)/bench
	@touch $$@
$(B)/$(1)/libgk.a: $$($(1)_OBJ_LIB)
	rm -f $$@ && ar rcs $$@ $$^
$(B)/$(1)/librules.a: $$($(1)_OBJ_RULES)
	rm -f $$@ && ar rcs $$@ $$^
$(B)/$(1)/bin/%: $(B)/$(1)/rules/%.o $(B)/$(1)/librules.a $(B)/$(1)/libgk.a $$(OWFAT_A)
	$$(CC) $(3) -o $$@ $$< $(B)/$(1)/librules.a $(B)/$(1)/libgk.a $$(LDLIBS)
$(B)/$(1)/tests/unit/%: $(B)/$(1)/tests/unit/%.o $(B)/$(1)/tests/t.o $(B)/$(1)/librules.a $(B)/$(1)/libgk.a $$(OWFAT_A)
	$$(CC) $(3) -o $$@ $$< $(B)/$(1)/tests/t.o $(B)/$(1)/librules.a $(B)/$(1)/libgk.a $$(LDLIBS)
$(B)/$(1)/bench/%: $(B)/$(1)/bench/%.o $(B)/$(1)/librules.a $(B)/$(1)/libgk.a $$(OWFAT_A)
	$$(CC) $(3) -o $$@ $$< $(B)/$(1)/librules.a $(B)/$(1)/libgk.a $$(LDLIBS)
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
$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(RULES_SRC) $(OWFAT_A)
	@mkdir -p $(B)/fuzz
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(RULES_SRC) $(LDLIBS)
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
	install -m 0755 $(B)/rel/bin/rulecheck $(DESTDIR)$(SBINDIR)/rulecheck
	for m in docs/*.5; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man5/; done; true
	for m in docs/*.8; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man8/; done; true

deps:
	sh scripts/install-deps

clean:
	rm -rf $(B)/rel $(B)/asan $(B)/fuzz $(B)/test
