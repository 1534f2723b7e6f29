# One entry point for set-up, tests, the demo and the benchmarks.
#   make setup   LXD (apt, as root, when missing) + the virtualenv .venv with lxdapi
#   make test    set-up, then the whole test suite against private LXD daemons
#   make demo    set-up, then the example SLS applied twice with salt-call
#   make bench   set-up, then the benchmark table (see BENCHMARKS.rst)
#   make lint    set-up, then ruff: lint and format check (configured in pyproject.toml)
#   make docs    set-up, then the documentation site in docs/_build/html (warnings fail)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup deps venv test demo bench lint docs clean

setup: deps venv

deps:
	@if ! command -v lxd >/dev/null 2>&1 || ! command -v lxc >/dev/null 2>&1 \
	    || ! dpkg -s busybox-static >/dev/null 2>&1 || ! command -v nft >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing lxd, lxd-client, busybox-static, nftables"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq lxd lxd-client busybox-static nftables >/dev/null; \
	  else \
	    echo "LXD missing: run as root, or: sudo apt-get install lxd lxd-client busybox-static nftables"; \
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

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg setup.py pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[tests,bench,docs,lint]'
	touch $@

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(PY) examples/demo.py

bench: setup
	$(PY) bench/bench.py

# The documentation site (docs/), warnings as errors. A failed build forgets its doctrees,
# so that the next build reads every page again and shows the same warnings.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

docs: setup
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html \
	  || { rm -rf docs/_build/html/.doctrees; exit 1; }

clean:
	-$(PY) tools/lxdhost.py stop .lxd
	rm -rf $(VENV) build dist *.egg-info
