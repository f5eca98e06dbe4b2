# Two entry points (see README.md): `make demo` and `make test`. Both set up what they need.
VENV        ?= .venv
PYTHON      ?= python3
PYTEST_ARGS ?=
BIN         := $(VENV)/bin

# Debian packages: the broker the demo and tests run, libsystemd for journald logging,
# systemd-analyze for the unit-file tests, GStreamer's RTSP server (system python3-gi) for
# the IP-camera tests, PostgreSQL's server binaries for the receiver's store tests (the tests
# start a private postgres of their own; the packaged service is never used), Chromium and its
# WebDriver for the dashboard's browser test, debootstrap for the Ansible-into-a-root tests and the
# openssl command line the evidence-bundle and first-boot tests verify with.
APT_CORE := mosquitto mosquitto-clients
APT_TEST := $(APT_CORE) libsystemd-dev pkg-config systemd \
            gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-good \
            gstreamer1.0-plugins-bad gstreamer1.0-libav python3-gi postgresql \
            chromium chromium-driver debootstrap openssl faketime

.PHONY: demo test lint typecheck unit faults coverage apt-core apt-test clean

demo: $(VENV)/.core-installed
	$(BIN)/edge demo

test: $(VENV)/.test-installed
	$(BIN)/ruff check edge tests
	$(BIN)/ruff format --check edge tests
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --durations=30 $(PYTEST_ARGS)

# Fast loop for developers: no slow tests.
unit: $(VENV)/.test-installed
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

# The fault matrix alone (full disk on a tmpfs, corrupt state, refusing brokers, bad input).
faults: $(VENV)/.test-installed
	$(BIN)/pytest -m faults $(PYTEST_ARGS)

# Branch coverage of the fast pure-core tests, printed per file; CI runs it after `make test`.
# A subset because Python 3.11's tracer costs +30% to +75% CPU (CONTRIBUTING.md, measured).
COVERAGE_TESTS ?= tests/config tests/events tests/clips tests/sensors tests/analysis
COVERAGE_OF   ?= core config analysis events clips sensors
coverage: $(VENV)/.test-installed
	$(BIN)/pytest -n 2 -m "not slow" $(COVERAGE_OF:%=--cov=edge/%) $(COVERAGE_TESTS) $(PYTEST_ARGS)

apt-core:
	@./.ci/apt-install $(APT_CORE)

apt-test:
	@./.ci/apt-install $(APT_TEST)

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.core-installed: pyproject.toml | $(VENV)/bin/python
	@$(MAKE) --no-print-directory apt-core
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.core-installed
	@$(MAKE) --no-print-directory apt-test
	$(BIN)/pip install --quiet -e '.[test,yolo,systemd,deploy,receiver,eval]'
	@touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage
