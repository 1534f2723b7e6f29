# One entry point for set-up, tests, the demo and the benchmarks.
#   make setup   LXD (apt, as root, when missing) + the virtualenv .venv with lxdapi
#   make test    set-up, old-salt-venv and image, then the whole test suite against private
#                LXD and Incus daemons (the two halves side by side)
#   make image   the Debian 12 image with python3 (debootstrap; cached on the machine)
#   make old-salt-venv  .venv-bench-salt3007: Salt 3007.8's own lxd module (pylxd), which
#                the tests compare lxd.* with (tests/functional/test_vs_salt3007_lxd.py)
#   make demo    set-up, then the example SLS applied twice with salt-call
#   make bench   set-up, then the benchmark table (see BENCHMARKS.rst)
#   make bench-events  set-up, then the events engine's latency and cost (a private LXD,
#                a Salt master and minion; BENCHMARKS.rst, "Events")
#   make bench-rolling  set-up, then rolling restarts of 30 containers next to all at once
#                (a private LXD; BENCHMARKS.rst, "Rolling restarts")
#   make bench-inside  set-up and image, then Salt inside 1, 10 and 30 Debian containers,
#                one after the other and side by side (a private LXD; BENCHMARKS.rst,
#                "Salt inside many containers"; BENCH_INSIDE_ARGS: --sizes, --runs)
#   make lines   the Salt-facing tests on the older Salt lines (SALT_LINES), each in its
#                own virtualenv .venv-<version>, against LXD, the lines side by side
#   make lint    set-up, then ruff: lint and format check (configured in pyproject.toml)
#   make docs    set-up, then the documentation site in docs/_build/html (warnings fail),
#                checked in headless Chromium (tools/docs_check.py)
#   make versions  each virtualenv's Python, Salt and lxdapi versions (made first if missing)

PYTHON ?= python3
VENV ?= .venv
# Salt's newest line (the main $(VENV): make test, lint, docs) runs on the newest Python
# here, the older lines (make lines) on Python 3.10, the one Salt's official 3006 and 3007
# packages ship (3006.27 and later ship 3.11). Each is pyenv's build by default; name
# another with make PYTHON_NEWEST=/path/to/python3.13 PYTHON_OLD_LINES=/path/to/python3.10.
# A missing one stops the build with its name: nothing falls back to another Python. The
# machine's python3 ($(PYTHON)) makes only the bench's virtualenvs and runs the tools.
PYENV_ROOT ?= $(HOME)/.pyenv
NEWEST_PYENV ?= 3.13.0
OLD_LINES_PYENV ?= 3.10.13
PYTHON_NEWEST ?= $(PYENV_ROOT)/versions/$(NEWEST_PYENV)/bin/python
PYTHON_OLD_LINES ?= $(PYENV_ROOT)/versions/$(OLD_LINES_PYENV)/bin/python
# A virtualenv's stamp names the Python it was made with (.installed-python3.13.0): one made
# earlier with another Python, or whose Python is gone, is removed and made again.
PY_VERSION_CODE = import platform; print(platform.python_version())
python-version = $(shell $(1) -c '$(PY_VERSION_CODE)' 2>/dev/null)
NEWEST_VERSION := $(call python-version,$(PYTHON_NEWEST))
OLD_LINES_VERSION := $(call python-version,$(PYTHON_OLD_LINES))
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

# The older Salt lines CI tests besides the newest (the main .venv): 3006 LTS and 3007, the
# newest of each that the package registry serves with its dependencies (3006.30 and
# 3007.17 need a newer certifi than it has). Their wheels leave out most of what Salt
# needs: SALT_DEPS adds it.
SALT_LINES ?= 3006.29 3007.16
SALT_DEPS = pyyaml jinja2 msgpack pycryptodomex psutil distro pyzmq tornado looseversion \
	packaging markupsafe cryptography requests 'requests-unixsocket>=0.4.1' \
	'websocket-client>=1.6' pytest pytest-salt-factories hypothesis
# On the older lines: what Salt touches (the functional and integration tests), against
# LXD; the core against each server runs once, on the newest line (make test). Left out
# there too: the files whose subject is the core's or the server's own behaviour, which a
# Salt line does not change (the core's API, its waits and faults, moves of data between
# servers, clusters, HTTPS, the event stream, bounded reads, rolling batches, retention
# policies), and the generated arguments
# (minutes of examples through the one boundary): they pass through the same Salt layer as
# the files that run. The engine and its reactor recipe do run on every line.
LINES_IGNORED = test_core_api test_bench_features test_readiness test_faults \
	test_concurrent_writers test_volume_copies test_resources_network_forwards \
	test_cluster test_remote_https test_image_server test_volume_remote \
	test_events test_bounded_reads test_generated_arguments test_rolling test_retention
LINES_PYTEST_ARGS ?= tests/functional tests/integration \
	$(foreach f,$(LINES_IGNORED),--ignore=tests/functional/$(f).py --ignore=tests/integration/$(f).py)

.PHONY: setup deps venv test image old-salt-venv demo bench bench-venvs bench-events bench-rolling bench-inside \
	lines lint docs versions clean

setup: deps venv

deps:
	@if ! command -v lxd >/dev/null 2>&1 || ! command -v lxc >/dev/null 2>&1 \
	    || ! dpkg -s busybox-static >/dev/null 2>&1 || ! command -v nft >/dev/null 2>&1 \
	    || ! command -v debootstrap >/dev/null 2>&1 || ! command -v dot >/dev/null 2>&1 \
	    || ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing lxd, lxd-client, busybox-static, nftables, debootstrap, graphviz, chromium"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq lxd lxd-client busybox-static nftables debootstrap graphviz chromium >/dev/null; \
	  else \
	    echo "LXD missing: run as root, or: sudo apt-get install lxd lxd-client busybox-static nftables debootstrap graphviz chromium"; \
	    exit 1; \
	  fi; \
	fi
	@if [ ! -x /usr/libexec/incus/incusd ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    if [ ! -e /etc/apt/sources.list.d/bookworm-backports.sources ] \
	        && ! grep -Eqs '^[^#]*bookworm-backports' /etc/apt/sources.list \
	          /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then \
	      echo "Adding bookworm-backports to apt (/etc/apt/sources.list.d/bookworm-backports.sources)"; \
	      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	        > /etc/apt/sources.list.d/bookworm-backports.sources; \
	    fi; \
	    echo "Installing incus from bookworm-backports"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends -t bookworm-backports incus >/dev/null; \
	  else \
	    echo "Incus missing: run as root, or add bookworm-backports to apt and: sudo apt-get install --no-install-recommends -t bookworm-backports incus"; \
	    exit 1; \
	  fi; \
	fi

# $(call venv-with,DIR,VARIABLE,PYTHON,VERSION,PYENV): DIR a virtualenv of PYTHON (VERSION,
# empty when it does not run), named by VARIABLE, pyenv's PYENV by default.
define venv-with
@[ -n "$(4)" ] || { echo "Missing Python: $(2)=$(3) does not run. Install it" \
  "(pyenv install $(5)) or name another: make $(2)=/path/to/python" >&2; exit 1; }
@if [ -e $(1)/pyvenv.cfg ] \
    && [ "$$($(1)/bin/python -c '$(PY_VERSION_CODE)' 2>/dev/null)" != "$(4)" ]; then \
  echo "$(1) was made with another Python: made again with $(3) ($(4))"; rm -rf $(1); \
fi
test -x $(1)/bin/python || $(3) -m venv $(1)
endef

venv: $(VENV)/.installed-python$(NEWEST_VERSION)

$(VENV)/.installed-python$(NEWEST_VERSION): setup.cfg setup.py pyproject.toml
	$(call venv-with,$(VENV),PYTHON_NEWEST,$(PYTHON_NEWEST),$(NEWEST_VERSION),$(NEWEST_PYENV))
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[tests,bench,docs,lint]'
	touch $@

# The suite runs as two halves side by side, each with its own private daemons (see
# LXDAPI_HALF in tests/conftest.py): every test on LXD and those that need no server, shown
# as it runs; every test on Incus, shown when both are done (about 25 min here against 42
# one after the other: the tests wait on the daemons more than they compute).
test: setup old-salt-venv image
	@log=$$(mktemp); \
	( LXDAPI_HALF=incus LXDAPI_IMAGE_CACHE=$(IMAGE_CACHE) $(PY) -m pytest -p no:cacheprovider \
	    $(PYTEST_ARGS) >$$log 2>&1; echo $$? >$$log.rc ) & \
	echo "== LXD (and the tests that need no server); the Incus half runs meanwhile"; \
	LXDAPI_HALF=lxd LXDAPI_IMAGE_CACHE=$(IMAGE_CACHE) $(PY) -m pytest -p no:cacheprovider \
	    $(PYTEST_ARGS); lxd=$$?; \
	wait; echo "== Incus"; cat $$log; incus=$$(cat $$log.rc); rm -f $$log $$log.rc; \
	[ $$lxd = 0 ] || echo "== failed on LXD"; [ $$incus = 0 ] || echo "== failed on Incus"; \
	[ $$lxd = 0 ] && [ $$incus = 0 ]

# The Debian 12 image with python3 that the tests of Salt inside instances use: built by
# debootstrap (about a minute) once per machine, cached in $(IMAGE_CACHE) by its package
# list; prints where it is and how long its build took.
IMAGE_CACHE ?= /var/cache/lxdapi-test
image: deps
	LXDAPI_IMAGE_CACHE=$(IMAGE_CACHE) $(PYTHON) tools/debian_image.py

old-salt-venv: .venv-bench-salt3007/.installed

LINE_VENVS = $(foreach line,$(SALT_LINES),.venv-$(line)/.installed-python$(OLD_LINES_VERSION))

.venv-%/.installed-python$(OLD_LINES_VERSION): setup.cfg setup.py pyproject.toml
	$(call venv-with,.venv-$*,PYTHON_OLD_LINES,$(PYTHON_OLD_LINES),$(OLD_LINES_VERSION),$(OLD_LINES_PYENV))
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q 'salt==$*' $(SALT_DEPS)
	.venv-$*/bin/python -m pip install -q --no-deps -e .   # keeps that Salt
	touch $@

# The lines run side by side, each with its own private LXD daemon (about 11 min for both
# here, against 21 one after the other: the tests wait on the daemon more than they
# compute); each line's output is printed whole when both are done.
lines: deps image $(LINE_VENVS)
	@logs=$$(mktemp -d); \
	for line in $(SALT_LINES); do \
	  ( LXDAPI_SERVERS=lxd LXDAPI_IMAGE_CACHE=$(IMAGE_CACHE) \
	      .venv-$$line/bin/python -m pytest -p no:cacheprovider $(LINES_PYTEST_ARGS) \
	      >$$logs/$$line.log 2>&1; echo $$? >$$logs/$$line.rc ) & \
	done; \
	wait; failed=; \
	for line in $(SALT_LINES); do \
	  echo "== Salt $$line"; cat $$logs/$$line.log; \
	  [ "$$(cat $$logs/$$line.rc)" = 0 ] || failed="$$failed $$line"; \
	done; \
	rm -rf $$logs; \
	if [ -n "$$failed" ]; then echo "== failed on Salt$$failed"; exit 1; fi

demo: setup
	$(PY) examples/demo.py

# The predecessors the bench measures lxdapi against, each in its own virtualenv (not
# lxdapi's): Salt 3007's lxd_container states (pylxd) and Ansible's
# community.general.lxd_container (the ansible package carries community.general).
BENCH_SALT ?= 3007.8
BENCH_ARGS ?=

bench-venvs: .venv-bench-salt3007/.installed .venv-bench-ansible/.installed

.venv-bench-salt3007/.installed:
	test -x .venv-bench-salt3007/bin/python || $(PYTHON) -m venv .venv-bench-salt3007
	.venv-bench-salt3007/bin/python -m pip install -q --upgrade pip
	.venv-bench-salt3007/bin/python -m pip install -q 'salt==$(BENCH_SALT)' $(SALT_DEPS) 'pylxd==2.4.2'
	touch $@

.venv-bench-ansible/.installed:
	test -x .venv-bench-ansible/bin/python || $(PYTHON) -m venv .venv-bench-ansible
	.venv-bench-ansible/bin/python -m pip install -q --upgrade pip
	.venv-bench-ansible/bin/python -m pip install -q 'ansible==12.3.0'
	touch $@

bench: setup bench-venvs
	$(PY) bench/bench.py $(BENCH_ARGS)

# The events engine (issue 24): LXD event to the master's bus, next to the beacon; about
# 8 minutes. Not part of make bench (it starts its own master and minion).
BENCH_EVENTS_ARGS ?=

bench-events: setup
	$(PY) bench/events.py $(BENCH_EVENTS_ARGS)

# Rolling restarts (issue 26): 30 busybox containers restarted all at once, then a batch at
# a time (bench/rolling.py, a private LXD; about 3 minutes). Not part of make bench.
BENCH_ROLLING_ARGS ?=

bench-rolling: setup
	$(PY) bench/rolling.py $(BENCH_ROLLING_ARGS)

# Salt inside many containers (issue 25): about 15 minutes on 2 cores. Not part of make
# bench, nor of make test.
BENCH_INSIDE_ARGS ?=

bench-inside: setup image
	$(PY) bench/inside_many.py $(BENCH_INSIDE_ARGS)

# The documentation site (docs/), warnings as errors. A failed build forgets its doctrees,
# so that the next build reads every page again and shows the same warnings.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

docs: setup
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html \
	  || { rm -rf docs/_build/html/.doctrees; exit 1; }
	$(PY) tools/docs_check.py --screenshot docs/_build/architecture.png docs/_build/html

# What each virtualenv runs (CI prints it after make setup).
VERSIONS_PY = import importlib.metadata as m, platform, sys; \
	d = {x.metadata["Name"].lower().replace("_", "-"): x.version for x in m.distributions()}; \
	print("%-22s Python %-8s Salt %-8s saltext-lxdapi %s" % (sys.argv[1], \
	platform.python_version(), d.get("salt", "-"), d.get("saltext-lxdapi", "-")))

versions: venv old-salt-venv $(LINE_VENVS)
	@for v in $(VENV) $(foreach line,$(SALT_LINES),.venv-$(line)) .venv-bench-salt3007; do \
	  $$v/bin/python -I -c '$(VERSIONS_PY)' $$v || exit 1; \
	done

clean:
	-$(PY) tools/lxdhost.py stop .lxd
	rm -rf $(VENV) $(foreach line,$(SALT_LINES),.venv-$(line)) .venv-bench-salt3007 \
	  .venv-bench-ansible build dist *.egg-info
