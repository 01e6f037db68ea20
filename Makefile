# loom - GNU Makefile, out-of-tree builds into $(BUILD).
#
#   make                 library, demos, programs, tests
#   make test            every Check suite on every backend, then demo smoke tests
#   make sanitize        the whole suite under ASan + UBSan + LSan (build/sanitize)
#   make tsan            the suites that use threads, under TSan (build/tsan)
#   make SWITCH=ucontext test    the ucontext context-switch fallback (build/ucontext)
#   make qemu-aarch64    the aarch64 assembly switch, cross-built and run under qemu-user
#   make install PREFIX=/usr/local   libloom + libloom-pg (.so/.a), headers, .pc files, programs
#                        (DESTDIR honoured; make uninstall removes what install put)
#   make fix-includes    rewrite loom includes in public headers to "loom/<module>/<name>.h"
#   make bench           benchmarks against peers, printed as ratios
#   make deps            install the Debian packages the build and tests need
#   make run             build the library and the chat programs only, start loom-chat on 127.0.0.1:8000
#   make format          clang-format the tree (.clang-format); make format-check lists what differs

SHELL := /bin/bash
.DEFAULT_GOAL := all

PREFIX ?= /usr/local
SWITCH ?= asm
ifeq ($(SWITCH),ucontext)
BUILD ?= build/ucontext
else
BUILD ?= build
endif

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
WERROR ?=
SAN ?=
OPT ?= -O2
# -fexceptions: a C++ exception unwinding through loom's callbacks runs its cleanup attributes
# (the loop is left usable). -fstack-clash-protection: a big frame probes page by page, so it
# hits the task's stack guard (as loom.pc hands to users; here for the demos and programs too).
HARDEN_CFLAGS := -fexceptions -fstack-clash-protection
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Wno-unused-parameter \
               -fPIC -fvisibility=hidden -pthread -I. -I$(BUILD)/include $(if $(WERROR),-Werror) $(SAN) \
               $(HARDEN_CFLAGS)
ifeq ($(SWITCH),ucontext)
CFLAGS_BASE += -DLOOM_SWITCH_UCONTEXT
endif
# In-tree programs (demos, tests, tools) link all of these; the libraries link only their own:
# libloom the packages in LIB_PKGS (OpenSSL once net/tls.c exists), libloom-pg libpq.
PKGS := openssl libpq zlib libxml-2.0 jansson liburing
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null || echo -I/usr/include/postgresql -I/usr/include/libxml2)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lpq -lz -lxml2 -ljansson -luring)
CFLAGS := $(CFLAGS_BASE) $(PKG_CFLAGS) $(CFLAGS_EXTRA)
LDLIBS := -Wl,--as-needed $(PKG_LIBS) -lm -pthread $(SAN)
# libloom's own dependencies, found from what its sources include (so a new module that
# includes <zlib.h> adds zlib to the link and to loom.pc by itself); -z defs below catches
# anything this misses.
lib_uses = $(if $(shell grep -lsE '^[[:space:]]*\#[[:space:]]*include[[:space:]]*<$(2)' \
  $(wildcard $(addsuffix /*.[ch],reactor net sync proc))),$(1))
LIB_PKGS := $(strip $(call lib_uses,openssl,openssl/) $(call lib_uses,zlib,zlib\.h) \
  $(call lib_uses,libxml-2.0,libxml/) $(call lib_uses,jansson,jansson\.h) \
  $(call lib_uses,liburing,liburing\.h))
LIB_LIBS := $(if $(LIB_PKGS),$(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null || echo -lssl -lcrypto -lz -luring)) -lm -pthread
PG_LIBS := $(shell pkg-config --libs libpq 2>/dev/null || echo -lpq)
PG_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
# -z defs: a library that misses one of its dependencies fails here, not in a user's link.
SO_LDFLAGS := -shared $(if $(SAN),,-Wl,-z,defs) $(SAN)

# Public headers include each other as "loom/reactor/loop.h" (their installed path). In the
# tree that resolves through $(BUILD)/include/loom, a symlink to the source root; sources may
# keep "reactor/loop.h" through -I. (The symlink is made at parse time so every target has it.)
$(shell mkdir -p $(BUILD)/include && ln -sfn $(CURDIR) $(BUILD)/include/loom)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)
# libloom: reactor net sync proc. libloom-pg: db (needs libpq and libloom).
VERSION := 0.1.0
SOVERSION := 0
CORE_MODULES := reactor net sync proc
MODULES := $(CORE_MODULES) db
LIB_C := $(sort $(wildcard $(addsuffix /*.c,$(CORE_MODULES))))
LIB_S := $(if $(filter asm,$(SWITCH)),$(wildcard reactor/switch_$(ARCH).S))
LIB_OBJ := $(LIB_C:%.c=$(BUILD)/obj/%.o) $(LIB_S:%.S=$(BUILD)/obj/%.o)
PG_C := $(sort $(wildcard db/*.c))
PG_OBJ := $(PG_C:%.c=$(BUILD)/obj/%.o)
# Installed headers: everything in the module folders but the internals.
PRIVATE_HEADERS := %_internal.h reactor/compat.h reactor/backend.h reactor/switch.h \
  reactor/completion.h
HEADERS := $(filter-out $(PRIVATE_HEADERS),$(sort $(wildcard $(addsuffix /*.h,$(MODULES)))))
PG_HEADERS := $(filter db/%,$(HEADERS))
CORE_HEADERS := $(filter-out db/%,$(HEADERS))

SONAME := libloom.so.$(SOVERSION)
LIB_A := $(BUILD)/libloom.a
LIB_SO := $(BUILD)/libloom.so.$(VERSION)
PG_SONAME := libloom-pg.so.$(SOVERSION)
PG_A := $(BUILD)/libloom-pg.a
PG_SO := $(BUILD)/libloom-pg.so.$(VERSION)

DEMO_COMMON_C := $(wildcard demos/common/*.c)
DEMO_COMMON_OBJ := $(DEMO_COMMON_C:%.c=$(BUILD)/obj/%.o)
DEMO_C := $(sort $(wildcard demos/ch*/*.c))
DEMO_BIN := $(DEMO_C:demos/%.c=$(BUILD)/demos/%)
# demos/embed: loom as a guest in another program's main loop (glib_host: GLib's).
EMBED_C := $(sort $(wildcard demos/embed/*.c))
EMBED_BIN := $(EMBED_C:demos/%.c=$(BUILD)/demos/%)
$(BUILD)/demos/embed/glib_host: CFLAGS += $(shell pkg-config --cflags glib-2.0 2>/dev/null)
$(BUILD)/demos/embed/glib_host: LDLIBS += $(shell pkg-config --libs glib-2.0 2>/dev/null || echo -lglib-2.0)
APP_C := $(sort $(wildcard demos/apps/*.c))
APP_BIN := $(APP_C:demos/apps/%.c=$(BUILD)/bin/%)

TEST_HARNESS_C := $(wildcard tests/harness/*.c)
TEST_HARNESS_OBJ := $(TEST_HARNESS_C:%.c=$(BUILD)/obj/%.o)
TEST_C := $(sort $(wildcard tests/check_*.c))
TEST_BIN := $(TEST_C:tests/%.c=$(BUILD)/tests/%)
# C++ suites (tests/check_*.cc): built with g++ and, outside sanitizer builds (whose runtime
# is gcc's), with clang++ too (check_x and check_x_clang).
CXX_TEST_CC := $(sort $(wildcard tests/check_*.cc))
CXX_TEST_BIN := $(CXX_TEST_CC:tests/%.cc=$(BUILD)/tests/%) \
  $(if $(SAN),,$(CXX_TEST_CC:tests/%.cc=$(BUILD)/tests/%_clang))
CXXFLAGS_TEST := -std=c++17 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -pthread -I. \
  -I$(BUILD)/include -Itests $(SAN)
TEST_TOOL_C := $(sort $(wildcard tests/tools/*.c))
# Conformance cases (tests/conformance/NAME.c, traced against NAME.py by check_conformance).
CONF_C := $(sort $(wildcard tests/conformance/*.c))
CONF_BIN := $(CONF_C:tests/%.c=$(BUILD)/tests/%)
TEST_TOOL_BIN := $(TEST_TOOL_C:tests/tools/%.c=$(BUILD)/tests/tools/%)

BACKENDS := $(shell uname -s | grep -qi linux && echo epoll) poll \
            $(shell test -e /usr/include/sys/event.h && echo kqueue)
# make test and make sanitize add io_uring where liburing's headers are (run-suites drops
# it where the kernel refuses a ring; URING= leaves it out). To keep CI under 25 minutes it
# runs only the suites that drive the reactor, streams and servers (under sanitize, those
# that reach the backend most); `make test-run BACKENDS=io_uring` runs every suite on it.
URING := $(shell test -e /usr/include/liburing.h && echo io_uring)
URING_TEST_SUITES := check_loop check_task check_sync check_stream check_server check_net \
  check_embed check_executor check_threadsafe check_fdio check_hostile check_lifetime_loop \
  check_timeout check_udp check_http_server check_ws check_broadcast check_proc_spawn \
  check_net_eyeballs check_tls check_http_client check_transport
URING_SANITIZE_SUITES := check_loop check_stream check_server check_net check_embed check_fdio \
  check_http_server check_ws check_net_eyeballs
# Under make sanitize these run on the first backend only (check_tls: ~47 s per
# backend under ASan; the stream layer under it runs on every backend anyway).
SANITIZE_ONCE_SUITES := check_tls

# Quiet by default; V=1 shows the commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

all: $(LIB_A) $(LIB_SO) $(PG_A) $(PG_SO) $(DEMO_BIN) $(APP_BIN) $(TEST_BIN) $(TEST_TOOL_BIN) \
     $(BUILD)/tests/check_downstream $(EMBED_BIN) $(CXX_TEST_BIN) $(CONF_BIN)

# Every compile waits for build-deps-check (once per make run): on a machine without the
# build packages, make says what to install (as root: installs it) instead of a compiler error.
$(BUILD)/obj/%.o: %.c | build-deps-check
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S | build-deps-check
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) $(SO_LDFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LIB_LIBS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/$(SONAME) && ln -sf $(SONAME) $(BUILD)/libloom.so

$(PG_A): $(PG_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(PG_SO): $(PG_OBJ) $(LIB_SO)
	$(call say,LD,$@)
	$(Q)$(CC) $(SO_LDFLAGS) -Wl,-soname,$(PG_SONAME) -o $@ $(PG_OBJ) $(LIB_SO) $(PG_LIBS) $(LIB_LIBS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/$(PG_SONAME) && ln -sf $(PG_SONAME) $(BUILD)/libloom-pg.so

$(BUILD)/demos/libdemo.a: $(DEMO_COMMON_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

# In-tree programs link both archives: a program pulls in only what it references (so db/
# code only where it is used) and --as-needed drops libpq where nothing calls it.
$(BUILD)/demos/%: demos/%.c $(PG_A) $(LIB_A) $(BUILD)/demos/libdemo.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Idemos -o $@ $< $(BUILD)/demos/libdemo.a $(PG_A) $(LIB_A) $(LDLIBS)
# Chapter 9's shared headers, and the page listing 9.9 embeds (.incbin): rebuild on change.
$(filter $(BUILD)/demos/ch09/%,$(DEMO_BIN)): demos/ch09/ch09.h demos/ch09/rows_json.h
$(BUILD)/demos/ch09/listing_9_9: demos/ch09/counter.html

$(BUILD)/bin/%: demos/apps/%.c $(PG_A) $(LIB_A) $(BUILD)/demos/libdemo.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Idemos -o $@ $< $(BUILD)/demos/libdemo.a $(PG_A) $(LIB_A) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_HARNESS_OBJ) $(PG_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< $(TEST_HARNESS_OBJ) $(PG_A) $(LIB_A) $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/%_clang: tests/%.cc $(TEST_HARNESS_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)clang++ $(CXXFLAGS_TEST) -o $@ $< $(TEST_HARNESS_OBJ) $(LIB_A) $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.cc $(TEST_HARNESS_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)g++ $(CXXFLAGS_TEST) -o $@ $< $(TEST_HARNESS_OBJ) $(LIB_A) $(CHECK_LIBS) $(LDLIBS)

# The conformance cases link like the tests (the tests/% rule above builds them).
$(BUILD)/tests/check_conformance: $(CONF_BIN)
$(CONF_BIN): tests/conformance/conf.h

$(BUILD)/tests/tools/%: tests/tools/%.c $(PG_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< $(PG_A) $(LIB_A) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(PG_OBJ:.o=.d) $(DEMO_COMMON_OBJ:.o=.d) $(TEST_HARNESS_OBJ:.o=.d)
# Objects named only as prerequisites of pattern rules would count as intermediate and be
# deleted after each build (then every test relinks); keep them.
.SECONDARY: $(TEST_HARNESS_OBJ) $(DEMO_COMMON_OBJ)

# --- tests ---

# Suites listed here also run under `make tsan`.
TSAN_SUITES ?= check_executor check_threadsafe check_tslist check_embed

.PHONY: all test test-run sanitize tsan qemu-aarch64 install uninstall fix-includes bench deps deps-check \
  build-deps-check clean run format format-check

test: deps-check
	@$(MAKE) --no-print-directory all
	@tests/check-exports $(LIB_SO) $(PG_SO)
	@$(MAKE) --no-print-directory test-run BACKENDS="$(BACKENDS) $(URING)" \
	 URING_SUITES="$(URING_TEST_SUITES)"

# Runs every suite once per backend; a suite may restrict itself by reading LOOM_BACKEND.
# (SWITCH/SAN/OPT/CC are passed on so tests/downstream/run installs this very build.)
test-run:
	@SWITCH=$(SWITCH) SAN="$(SAN)" OPT="$(OPT)" CC="$(CC)" CFLAGS_EXTRA="$(CFLAGS_EXTRA)" \
	 BUILD=$(BUILD) BACKENDS="$(BACKENDS)" SUITES="$(SUITES)" SUITES_io_uring="$(URING_SUITES)" \
	 tests/run-suites

# test-run gets the same SAN/OPT: check_downstream builds its programs against the
# installed (sanitized) library with them.
SANITIZE_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize: deps-check
	@$(MAKE) --no-print-directory BUILD=build/sanitize OPT=-O1 SAN="$(SANITIZE_SAN)" all
	@ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=0:abort_on_error=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 CK_TIMEOUT_MULTIPLIER=4 \
	 EXTRA_ONCE_SUITES="$(SANITIZE_ONCE_SUITES)" \
	 $(MAKE) --no-print-directory BUILD=build/sanitize OPT=-O1 SAN="$(SANITIZE_SAN)" test-run \
	 BACKENDS="$(BACKENDS) $(URING)" URING_SUITES="$(URING_SANITIZE_SUITES)"

tsan: deps-check
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT=-O1 SAN="-fsanitize=thread" all
	@TSAN_OPTIONS=halt_on_error=1 CK_TIMEOUT_MULTIPLIER=4 \
	 $(MAKE) --no-print-directory BUILD=build/tsan OPT=-O1 SAN="-fsanitize=thread" SUITES="$(TSAN_SUITES)" test-run

QEMU_CC ?= aarch64-linux-gnu-gcc
qemu-aarch64: deps-check
	@mkdir -p build/aarch64
	$(QEMU_CC) -std=c11 -D_GNU_SOURCE -DLOOM_NO_URING -O2 -g -Wall -Wextra -Wno-unused-parameter -pthread -I. -I$(BUILD)/include \
	  -static -o build/aarch64/switch_test tests/switch_test.c \
	  $(filter-out reactor/switch.c,$(wildcard reactor/*.c)) reactor/switch.c reactor/switch_aarch64.S -lm
	qemu-aarch64 build/aarch64/switch_test

# --- install ---
#
# PREFIX/include/loom.h               umbrella: every public header but db's (generated)
# PREFIX/include/loom/pg.h            umbrella for libloom-pg: loom.h + db/pg.h (generated)
# PREFIX/include/loom/<module>/<h>.h  the public headers (no *_internal.h, backend.h, ...)
# PREFIX/lib/libloom.{a,so*}, libloom-pg.{a,so*}, pkgconfig/loom.pc, pkgconfig/loom-pg.pc
# PREFIX/bin/<programs>
# Users compile with `pkg-config --cflags --libs loom` (or loom-pg); Cflags is -IPREFIX/include.

INCLUDEDIR ?= $(PREFIX)/include
LIBDIR ?= $(PREFIX)/lib
BINDIR ?= $(PREFIX)/bin
PCDIR ?= $(LIBDIR)/pkgconfig
comma := ,
space := $() $()
# loom.pc's description names what exists in this tree.
LOOM_DESC := asyncio rebuilt in C: reactor, stackful tasks, futures, streams, TCP/Unix servers$(strip \
  $(if $(wildcard net/tls.c),$(comma) TLS)$(if $(wildcard net/http_parse.c),$(comma) HTTP/1.1 parser)$(if \
  $(wildcard net/http_server.c),$(comma) HTTP server)$(if $(wildcard net/http_client.c),$(comma) HTTP client)$(if \
  $(wildcard net/ws.c),$(comma) WebSocket))$(comma) sync primitives, subprocesses, process pool
APP_NAMES := $(notdir $(APP_BIN))
# A directory under PREFIX is written as ${prefix}/... in the .pc files.
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: $(LIB_A) $(LIB_SO) $(PG_A) $(PG_SO) $(APP_BIN)
	@for h in $(HEADERS); do install -D -m 644 $$h $(DESTDIR)$(INCLUDEDIR)/loom/$$h || exit 1; done
	@{ echo '/* loom.h - generated by make install: every public loom header but db/ (libloom-pg). */'; \
	   echo '#ifndef LOOM_H'; echo '#define LOOM_H'; \
	   for h in $(CORE_HEADERS); do echo "#include <loom/$$h>"; done; \
	   echo '#endif'; } > $(DESTDIR)$(INCLUDEDIR)/loom.h
	@{ echo '/* loom/pg.h - generated by make install: loom.h plus the PostgreSQL adapter (loom-pg.pc). */'; \
	   echo '#ifndef LOOM_PG_H'; echo '#define LOOM_PG_H'; echo '#include <loom.h>'; \
	   for h in $(PG_HEADERS); do echo "#include <loom/$$h>"; done; \
	   echo '#endif'; } > $(DESTDIR)$(INCLUDEDIR)/loom/pg.h
	@install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR)
	install -m 644 $(LIB_A) $(PG_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(PG_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIB_SO)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libloom.so
	ln -sf $(notdir $(PG_SO)) $(DESTDIR)$(LIBDIR)/$(PG_SONAME)
	ln -sf $(PG_SONAME) $(DESTDIR)$(LIBDIR)/libloom-pg.so
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@DESC@|$(LOOM_DESC)|' -e 's|@LIBS@|$(strip $(LIB_LIBS))|' \
	  tests/loom.pc.in > $(DESTDIR)$(PCDIR)/loom.pc
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' -e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@PG_CFLAGS@|$(strip $(PG_CFLAGS))|' \
	  tests/loom-pg.pc.in > $(DESTDIR)$(PCDIR)/loom-pg.pc
	@if [ -n "$(APP_BIN)" ]; then install -d $(DESTDIR)$(BINDIR) && install -m 755 $(APP_BIN) $(DESTDIR)$(BINDIR)/; fi
	@echo "installed loom into $(DESTDIR)$(PREFIX)"

# Removes exactly what install put (files by name, then the directories it made if empty).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/loom/,$(HEADERS) pg.h) $(DESTDIR)$(INCLUDEDIR)/loom.h
	-@rmdir $(addprefix $(DESTDIR)$(INCLUDEDIR)/loom/,$(sort $(patsubst %/,%,$(dir $(HEADERS))))) \
	  $(DESTDIR)$(INCLUDEDIR)/loom 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libloom.a libloom.so $(SONAME) $(notdir $(LIB_SO)) \
	  libloom-pg.a libloom-pg.so $(PG_SONAME) $(notdir $(PG_SO)))
	rm -f $(DESTDIR)$(PCDIR)/loom.pc $(DESTDIR)$(PCDIR)/loom-pg.pc
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(APP_NAMES))
	@echo "removed loom from $(DESTDIR)$(PREFIX)"

# Public headers include each other by their installed path, "loom/<module>/<name>.h".
# Run after adding a header: rewrites "reactor/x.h"-style loom includes in every public header.
fix-includes:
	@sed -i -E 's%^([[:space:]]*#[[:space:]]*include[[:space:]]+)"(($(subst $(space),|,$(MODULES)))/[A-Za-z0-9_]+\.h)"%\1"loom/\2"%' \
	  $(HEADERS)
	@grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' $(HEADERS) | grep -v '"loom/' \
	  && { echo "fix-includes: the includes above are not loom/... paths"; exit 1; } || true
	@echo "fix-includes: $(words $(HEADERS)) public headers include loom headers as \"loom/<module>/<name>.h\""

# The downstream test is a script (it installs this build into a temp prefix and builds
# programs against it through pkg-config); run-suites runs it like a Check suite.
$(BUILD)/tests/check_downstream: tests/downstream/run
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\nexec "%s" "$$@"\n' $(CURDIR)/tests/downstream/run > $@ && chmod +x $@

# --- benchmarks ---

bench: deps-check
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/run

# --- documentation ---
# make docs: the API reference from the public headers (HEADERS, as make install picks them)
# with README.md and docs/*.md, by doxygen (docs/Doxyfile, docs/doxygen-filter) into
# $(BUILD)/docs/html; any warning - an undocumented public declaration - fails. Then every
# tutorial example (docs/examples/*.c) is built against the in-tree library and run, except
# those marked "docs: compile only" (they need a PostgreSQL server), and docs/check-tutorial
# checks that docs/tutorial.md shows each of them verbatim: the tutorial can't rot.
DOC_EX_C := $(sort $(wildcard docs/examples/*.c))
DOC_EX_BIN := $(DOC_EX_C:docs/examples/%.c=$(BUILD)/docs/examples/%)

.PHONY: docs
docs: $(DOC_EX_BIN)
	@.ci/deps --check doxygen
	@for b in $(DOC_EX_BIN); do \
	  if grep -q 'docs: compile only' docs/examples/$${b##*/}.c; then continue; fi; \
	  printf '  %-6s %s\n' RUN $$b; \
	  timeout 30 $$b >$$b.out 2>&1 || { cat $$b.out; echo "docs: $$b failed"; exit 1; }; \
	done
	@docs/check-tutorial docs/tutorial.md $(DOC_EX_C)
	$(call say,DOXY,$(BUILD)/docs/html)
	$(Q)mkdir -p $(BUILD)/docs && LOOM_DOC_INPUT="$(HEADERS) README.md $(wildcard docs/*.md)" \
	  LOOM_DOC_OUT=$(BUILD)/docs LOOM_DOC_INCLUDE=$(BUILD)/include LOOM_VERSION=$(VERSION) \
	  doxygen docs/Doxyfile

$(BUILD)/docs/examples/%: docs/examples/%.c $(PG_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(PG_A) $(LIB_A) $(LDLIBS)

# --- dependencies (Debian) ---

# RUN_PACKAGES build the library and the programs (make run); BUILD_PACKAGES add what the rest
# of `make` (all) compiles: Check for the suites, clang++ for the C++ suite, GLib for its host.
# TEST_PACKAGES are for make test, bench, sanitize, qemu-aarch64. make deps installs them all.
RUN_PACKAGES := build-essential pkg-config libssl-dev libpq-dev zlib1g-dev libxml2-dev \
  libjansson-dev liburing-dev
BUILD_PACKAGES := $(RUN_PACKAGES) check clang libglib2.0-dev
TEST_PACKAGES := python3 postgresql postgresql-contrib libuv1-dev libevent-dev python3-uvloop \
  python3-asyncpg qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross valgrind socat \
  netcat-openbsd curl wrk tmux gnupg openssl procps iproute2 libclang-rt-14-dev \
  python3-aiohttp python3-feedparser nginx-light nodejs chromium clang-format doxygen
DEB_PACKAGES := $(BUILD_PACKAGES) $(TEST_PACKAGES)
# What this make run compiles for: only the programs' packages when the goal is `run`.
NEED_PACKAGES := $(if $(filter-out run,$(MAKECMDGOALS)),$(BUILD_PACKAGES),$(if $(MAKECMDGOALS),$(RUN_PACKAGES),$(BUILD_PACKAGES)))

deps:
	@.ci/deps $(DEB_PACKAGES)

deps-check:
	@.ci/deps --check $(DEB_PACKAGES)

build-deps-check:
	@.ci/deps --check $(NEED_PACKAGES)

# --- running the chat server ---

# Only the library and the two chat programs: ready in seconds on a fresh clone.
run: $(BUILD)/bin/loom-chat $(BUILD)/bin/loom-chat-client
	@echo "loom-chat on 127.0.0.1:8000 - join with: $(BUILD)/bin/loom-chat-client  (or: nc 127.0.0.1 8000, then CONNECT <name>)"
	@echo "Ctrl-C stops it."
	@exec $(BUILD)/bin/loom-chat --host 127.0.0.1 --port 8000

clean:
	rm -rf build

# --- formatting (.clang-format) ---
# make format [FORMAT_FILES="a.c b.h"]        rewrite the files in place
# make format-check [FORMAT_FILES=...]        list the files that do not conform; fails if any
CLANG_FORMAT ?= clang-format
FORMAT_FILES ?= $(shell git ls-files '*.c' '*.h' '*.cc' 2>/dev/null)

format:
	@$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	@bad=0; for f in $(FORMAT_FILES); do \
	  n=$$($(CLANG_FORMAT) --dry-run "$$f" 2>&1 | grep -c 'warning:'); \
	  if [ "$$n" -gt 0 ]; then echo "  $$f: $$n places"; bad=$$((bad + 1)); fi; \
	done; \
	[ $$bad -eq 0 ] && echo "format-check: $(words $(FORMAT_FILES)) files conform" || \
	  { echo "format-check: $$bad of $(words $(FORMAT_FILES)) files differ from .clang-format (make format)"; exit 1; }

# --- fuzzing (libFuzzer, clang) ---
# make fuzz [FUZZ_SECONDS=30] [FUZZ_TARGETS="fuzz_url ..."]
# Builds every tests/fuzz/fuzz_*.c (each defines LLVMFuzzerTestOneInput) with clang
# -fsanitize=fuzzer,address,undefined into build/fuzz/, linked against the library sources
# rebuilt there with the same sanitizers (an archive: a target pulls in only what it uses).
# Each target then runs for FUZZ_SECONDS on a scratch copy of tests/fuzz/corpus/<target>/
# (the committed seeds are never modified). Any crash, sanitizer report, leak or timeout
# fails the run; the reproducer is kept in build/fuzz/<target>-artifacts/ and replays with
# `build/fuzz/<target> <file>`. libFuzzer ships in clang's runtime (libclang-rt-14-dev).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_DIR ?= build/fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -Wall -Wextra \
  -Wno-unused-parameter -pthread -I. -I$(FUZZ_DIR)/include $(PKG_CFLAGS) \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_C := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_C:tests/fuzz/%.c=%)
FUZZ_LIB_OBJ := $(LIB_C:%.c=$(FUZZ_DIR)/obj/%.o) $(LIB_S:%.S=$(FUZZ_DIR)/obj/%.o)

$(FUZZ_DIR)/include/loom:
	@mkdir -p $(dir $@) && ln -sfn $(CURDIR) $@

$(FUZZ_DIR)/obj/%.o: %.c | $(FUZZ_DIR)/include/loom
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/libloom-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libloom-fuzz.a | $(FUZZ_DIR)/include/loom
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libloom-fuzz.a \
	  $(PKG_LIBS) -lm -pthread

-include $(FUZZ_LIB_OBJ:.o=.d)

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
	@failed=(); for t in $(FUZZ_TARGETS); do \
	  work=$(FUZZ_DIR)/$$t-corpus art=$(FUZZ_DIR)/$$t-artifacts log=$(FUZZ_DIR)/$$t.log; \
	  rm -rf $$work $$art; mkdir -p $$work $$art; \
	  [ -d tests/fuzz/corpus/$$t ] && cp -r tests/fuzz/corpus/$$t/. $$work/; \
	  printf '  %-6s %s for %ss\n' FUZZ $$t $(FUZZ_SECONDS); \
	  if $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	       -print_final_stats=1 -artifact_prefix=$$art/ $$work >$$log 2>&1; then \
	    grep -m1 -E '^#[0-9]+[[:space:]]+DONE' $$log | sed 's/^/         /'; \
	  else \
	    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED)' $$log | tail -40 | sed 's/^/    /'; \
	    echo "  $$t FAILED: reproducer in $$art/ (log $$log)"; failed+=($$t); \
	  fi; \
	done; \
	[ $${#failed[@]} -eq 0 ] && echo "fuzz: $(words $(FUZZ_TARGETS)) targets, no crash" || \
	  { echo "fuzz: failed: $${failed[*]}"; exit 1; }
