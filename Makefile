# loom - GNU Makefile, out-of-tree builds into $(BUILD).
#
#   make                 library, demos, programs, tests
#   make test            every Check suite on every backend, then demo smoke tests
#   make sanitize        the whole suite under ASan + UBSan + LSan (build/sanitize)
#   make tsan            the suites that use threads, under TSan (build/tsan)
#   make SWITCH=ucontext test    the ucontext context-switch fallback (build/ucontext)
#   make qemu-aarch64    the aarch64 assembly switch, cross-built and run under qemu-user
#   make install PREFIX=/usr/local   headers, libraries, loom.pc
#   make bench           benchmarks against peers, printed as ratios
#   make deps            install the Debian packages the build and tests need
#   make run             start loom-chat on 127.0.0.1:8000

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
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Wno-unused-parameter \
               -fPIC -fvisibility=hidden -pthread -I. $(if $(WERROR),-Werror) $(SAN)
ifeq ($(SWITCH),ucontext)
CFLAGS_BASE += -DLOOM_SWITCH_UCONTEXT
endif
PKGS := openssl libpq zlib libxml-2.0 jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null || echo -I/usr/include/postgresql -I/usr/include/libxml2)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -lpq -lz -lxml2 -ljansson)
CFLAGS := $(CFLAGS_BASE) $(PKG_CFLAGS) $(CFLAGS_EXTRA)
LDLIBS := $(PKG_LIBS) -lm -pthread $(SAN)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)
MODULES := reactor net sync proc db
LIB_C := $(sort $(wildcard $(addsuffix /*.c,$(MODULES))))
LIB_S := $(if $(filter asm,$(SWITCH)),$(wildcard reactor/switch_$(ARCH).S))
LIB_OBJ := $(LIB_C:%.c=$(BUILD)/obj/%.o) $(LIB_S:%.S=$(BUILD)/obj/%.o)
HEADERS := $(filter-out %_internal.h reactor/compat.h reactor/backend.h reactor/switch.h,\
             $(sort $(wildcard $(addsuffix /*.h,$(MODULES)))))

SONAME := libloom.so.0
LIB_A := $(BUILD)/libloom.a
LIB_SO := $(BUILD)/$(SONAME)

DEMO_COMMON_C := $(wildcard demos/common/*.c)
DEMO_COMMON_OBJ := $(DEMO_COMMON_C:%.c=$(BUILD)/obj/%.o)
DEMO_C := $(sort $(wildcard demos/ch*/*.c))
DEMO_BIN := $(DEMO_C:demos/%.c=$(BUILD)/demos/%)
APP_C := $(sort $(wildcard demos/apps/*.c))
APP_BIN := $(APP_C:demos/apps/%.c=$(BUILD)/bin/%)

TEST_HARNESS_C := $(wildcard tests/harness/*.c)
TEST_HARNESS_OBJ := $(TEST_HARNESS_C:%.c=$(BUILD)/obj/%.o)
TEST_C := $(sort $(wildcard tests/check_*.c))
TEST_BIN := $(TEST_C:tests/%.c=$(BUILD)/tests/%)
TEST_TOOL_C := $(sort $(wildcard tests/tools/*.c))
TEST_TOOL_BIN := $(TEST_TOOL_C:tests/tools/%.c=$(BUILD)/tests/tools/%)

BACKENDS := $(shell uname -s | grep -qi linux && echo epoll) poll \
            $(shell test -e /usr/include/sys/event.h && echo kqueue)

# Quiet by default; V=1 shows the commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

all: $(LIB_A) $(LIB_SO) $(DEMO_BIN) $(APP_BIN) $(TEST_BIN) $(TEST_TOOL_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(call say,AS,$<)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)
	$(Q)ln -sf $(SONAME) $(BUILD)/libloom.so

$(BUILD)/demos/libdemo.a: $(DEMO_COMMON_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/demos/%: demos/%.c $(LIB_A) $(BUILD)/demos/libdemo.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Idemos -o $@ $< $(BUILD)/demos/libdemo.a $(LIB_A) $(LDLIBS)

$(BUILD)/bin/%: demos/apps/%.c $(LIB_A) $(BUILD)/demos/libdemo.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Idemos -o $@ $< $(BUILD)/demos/libdemo.a $(LIB_A) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_HARNESS_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< $(TEST_HARNESS_OBJ) $(LIB_A) $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB_A) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(DEMO_COMMON_OBJ:.o=.d) $(TEST_HARNESS_OBJ:.o=.d)

# --- tests ---

# Suites listed here also run under `make tsan`.
TSAN_SUITES ?= check_executor check_threadsafe check_tslist

.PHONY: all test test-run sanitize tsan qemu-aarch64 install bench deps deps-check clean run

test: deps-check
	@$(MAKE) --no-print-directory all
	@tests/check-exports $(LIB_SO)
	@$(MAKE) --no-print-directory test-run

# Runs every suite once per backend; a suite may restrict itself by reading LOOM_BACKEND.
test-run:
	@BUILD=$(BUILD) BACKENDS="$(BACKENDS)" SUITES="$(SUITES)" tests/run-suites

sanitize: deps-check
	@$(MAKE) --no-print-directory BUILD=build/sanitize OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  all
	@ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=0:abort_on_error=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 CK_TIMEOUT_MULTIPLIER=4 \
	 $(MAKE) --no-print-directory BUILD=build/sanitize test-run

tsan: deps-check
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT=-O1 SAN="-fsanitize=thread" all
	@TSAN_OPTIONS=halt_on_error=1 CK_TIMEOUT_MULTIPLIER=4 \
	 $(MAKE) --no-print-directory BUILD=build/tsan SUITES="$(TSAN_SUITES)" test-run

QEMU_CC ?= aarch64-linux-gnu-gcc
qemu-aarch64: deps-check
	@mkdir -p build/aarch64
	$(QEMU_CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wno-unused-parameter -pthread -I. \
	  -static -o build/aarch64/switch_test tests/switch_test.c \
	  $(filter-out reactor/switch.c,$(wildcard reactor/*.c)) reactor/switch.c reactor/switch_aarch64.S -lm
	qemu-aarch64 build/aarch64/switch_test

# --- install ---

install: $(LIB_A) $(LIB_SO)
	@mkdir -p $(DESTDIR)$(PREFIX)/include/loom $(DESTDIR)$(PREFIX)/lib/pkgconfig
	@for h in $(HEADERS); do \
	  install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/loom/$$h; done
	@{ echo '/* loom.h - generated by make install: every module header but db/pg.h (libpq). */'; \
	   echo '#ifndef LOOM_H'; echo '#define LOOM_H'; \
	   for h in $(filter-out db/%,$(HEADERS)); do echo "#include \"$$h\""; done; \
	   echo '#endif'; } > $(DESTDIR)$(PREFIX)/include/loom/loom.h
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/libloom.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libloom.so
	@if [ -n "$(APP_BIN)" ]; then mkdir -p $(DESTDIR)$(PREFIX)/bin; \
	  $(MAKE) --no-print-directory $(APP_BIN) && install -m 755 $(APP_BIN) $(DESTDIR)$(PREFIX)/bin/; fi
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBS@|$(PKG_LIBS) -lm -pthread|' tests/loom.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/loom.pc
	@echo "installed loom into $(DESTDIR)$(PREFIX)"

# --- benchmarks ---

bench: deps-check
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/bench/run

# --- dependencies (Debian) ---

DEB_PACKAGES := build-essential clang pkg-config check libssl-dev libpq-dev python3 \
  postgresql postgresql-contrib libuv1-dev libevent-dev python3-uvloop python3-asyncpg \
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross valgrind socat netcat-openbsd curl \
  wrk tmux gnupg openssl procps iproute2 libclang-rt-14-dev \
  zlib1g-dev libxml2-dev libjansson-dev python3-aiohttp python3-feedparser nginx-light \
  nodejs chromium libglib2.0-dev

deps:
	@.ci/deps $(DEB_PACKAGES)

deps-check:
	@.ci/deps --check $(DEB_PACKAGES)

# --- running the chat server ---

run: deps-check all
	@echo "loom-chat on 127.0.0.1:8000 - join with: $(BUILD)/bin/loom-chat-client  (or: nc 127.0.0.1 8000, then CONNECT <name>)"
	@echo "Ctrl-C stops it."
	@exec $(BUILD)/bin/loom-chat --host 127.0.0.1 --port 8000

clean:
	rm -rf build
