# Descent Playground in one container: `docker build -t descent-playground .` then
# `docker run -p 8000:8000 descent-playground` and open http://localhost:8000/.
# Everything the page loads, plotly.js included, is served from the image: no internet needed.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The user the app runs as (not root); fixed ids, so a runAsNonRoot policy can check them.
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin app

WORKDIR /usr/src/descent-playground

# 1. Dependencies, in a layer of their own: it is rebuilt only when pyproject.toml changes.
#    The lists come from pyproject.toml itself (the project's dependencies and its build
#    backend), so this layer needs none of the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); print(*p['build-system']['requires'], *p['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
 && python -m pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# 2. The code, installed as a package (templates and static files as its package data).
#    Only what the package needs is copied: editing tests or docs rebuilds nothing.
COPY README.md ./
COPY app/ app/
COPY engine/ engine/
COPY templates/ templates/
COPY static/ static/
COPY lessons/ lessons/
RUN python -m pip install --no-cache-dir --no-deps --no-build-isolation . \
 && rm -rf build ./*.egg-info

# 3. Run as the app user, from its home: the app is imported from site-packages, not from
#    the sources above. `descent-playground` reads every DESCENT_* setting (README,
#    "Settings"). Students reach the port directly (-p 8000:8000), so forwarded headers are
#    not trusted: a client cannot name another address in X-Forwarded-For to get past the
#    per-client session cap. Behind a reverse proxy you run, `-e DESCENT_TRUST_PROXY_HEADERS=true`
#    uses X-Forwarded-For/-Proto/-Host (students' addresses, the public host), believed from
#    any peer: publish the port to the proxy only, or add `-e FORWARDED_ALLOW_IPS=<its address>`.
USER 10001:10001
WORKDIR /home/app
ENV DESCENT_HOST=0.0.0.0 \
    DESCENT_PORT=8000 \
    DESCENT_TRUST_PROXY_HEADERS=false
EXPOSE 8000

# slim has no curl: ask the health route with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('DESCENT_PORT', '8000'), timeout=4)"]

CMD ["descent-playground"]
