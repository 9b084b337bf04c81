#!/usr/bin/env bash
# The CHECK_CMD of `make container-test`: run by ../shared/container/build-and-run while the
# image it built is up under rootful podman, with BASE_URL set to the container's address.
#
#   PY=.venv/bin/python BASE_URL=http://127.0.0.1:18000 bash tests/container/podman-check.sh
#
# Checks what only podman can see (the Dockerfile's HEALTHCHECK, the user the app runs as),
# then everything a browser needs through tests/container/check.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-python3}
IMAGE=${IMAGE:-localhost/app-under-test:ci}

cid=$(podman ps -q --latest --filter "ancestor=$IMAGE")
[[ -n $cid ]] || { echo "podman-check: no running container of $IMAGE" >&2; exit 1; }

# The image's own HEALTHCHECK command, run once by hand: podman runs it on a timer only
# through systemd, which this machine lacks (hence podman's "unable to get systemd
# connection to add healthchecks" at start-up, harmless). Needs a docker-format image
# (BUILDAH_FORMAT=docker): the OCI format drops HEALTHCHECK.
if podman healthcheck run "$cid"; then
  echo "  ok    HEALTHCHECK in the container -> healthy"
else
  echo "  FAIL  HEALTHCHECK in the container (podman healthcheck run $cid)"; exit 1
fi

uid=$(podman exec "$cid" id -u)
if [[ $uid != 0 ]]; then
  echo "  ok    the app runs as uid $uid, not root"
else
  echo "  FAIL  the app runs as root"; exit 1
fi

exec "$PY" tests/container/check.py
