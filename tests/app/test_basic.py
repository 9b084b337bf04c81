"""The app skeleton: routes, static files, settings, CLI and packaging."""

from __future__ import annotations

import fnmatch
import gzip
import http.client
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import free_port, local_ipv4_addresses
from fastapi.testclient import TestClient

from app import cli
from app.core.paths import STATIC_DIR, TEMPLATES_DIR
from app.core.settings import Settings
from app.main import create_app
from app.server import assets
from engine.datasets import DATASETS, LIMITS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))


def raw_get(base_url: str, path: str) -> int:
    """GET ``path`` exactly as written (no client-side '..' clean-up); return the status."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


# --- routes ---------------------------------------------------------------------------


def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_datasets_lists_the_whole_registry(client):
    response = client.get("/api/datasets")
    assert response.status_code == 200
    items = {item["name"]: item for item in response.json()}
    assert set(items) == set(DATASETS)
    for name, spec in DATASETS.items():
        item = items[name]
        assert item["task"] == spec.task
        assert item["n_features"] == spec.n_features
        assert item["default_loss"] == spec.default_loss
        assert item["allowed_losses"] == list(spec.allowed_losses)
        assert item["default_loss"] in item["allowed_losses"]
        assert item["has_classes"] == spec.has_classes
        assert item["hidden_hint"] == list(spec.hidden_hint)
        assert item["default_noise"] == spec.default_noise
        assert item["description"]
        assert item["limits"]["n_samples"] == list(LIMITS["n_samples"])
        assert item["limits"]["noise"] == list(LIMITS["noise"])
        assert ("n_classes" in item["limits"]) == spec.has_classes


def test_index_is_html_with_plotly_and_main_module(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>Descent Playground</title>" in html
    assert '<main id="app"' in html
    assert '<link rel="preload" id="plotly-src" href="/static/vendor/plotly.min.js?v=' in html
    assert '<script type="module" src="/static/main.js"></script>' in html
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # no inline scripts


def test_static_files_are_served(client):
    for path, kind in [("/static/main.js", "javascript"), ("/static/style.css", "text/css")]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert kind in response.headers["content-type"]
        assert response.headers["cache-control"] == "no-cache"


def test_plotly_is_served_gzipped_and_cacheable(client):
    plain = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "javascript" in plain.headers["content-type"]
    assert "content-encoding" not in plain.headers
    assert len(plain.content) > 1_000_000
    assert b"plotly" in plain.content[:2000].lower()
    assert "max-age=31536000" in plain.headers["cache-control"]

    zipped = client.get("/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert zipped.content == plain.content  # httpx decodes the body

    again = client.get(
        "/static/vendor/plotly.min.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]},
    )
    assert again.status_code == 304


def test_json_is_gzipped_when_large(client):
    response = client.get("/api/datasets", headers={"Accept-Encoding": "gzip"})
    if len(response.content) >= 1000:
        assert response.headers["content-encoding"] == "gzip"


def test_no_cdn_docs_pages(client):
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_over_http_with_gzip(live_server):
    url = urlsplit(live_server)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", "/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert response.getheader("content-encoding") == "gzip"
    assert "javascript" in response.getheader("content-type")
    assert len(gzip.decompress(body)) > 2 * len(body)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../pyproject.toml",
        "/static/%2e%2e/pyproject.toml",
        "/static/..%2fpyproject.toml",
        "/static/%2e%2e%2fpyproject.toml",
        "/static/../app/main.py",
        "/static/..%5c..%5cpyproject.toml",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
    ],
)
def test_static_path_traversal_is_refused(live_server, path):
    assert raw_get(live_server, path) == 404


# --- paths and packaging --------------------------------------------------------------


def test_template_and_static_dirs_exist():
    assert (TEMPLATES_DIR / "index.html").is_file()
    assert (STATIC_DIR / "main.js").is_file()


@pytest.mark.skipif(not (REPO / "pyproject.toml").is_file(), reason="needs the checkout")
def test_every_static_and_template_file_is_package_data():
    """A file that pyproject's package-data globs miss would be absent from a wheel."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    checked = set()
    for package, folder in [("app.templates", "templates"), ("app.static", "static")]:
        patterns = config["package-data"][package]
        for file in (REPO / folder).rglob("*"):
            if file.is_dir() or "__pycache__" in file.parts or file.name.startswith("."):
                continue
            rel = file.relative_to(REPO / folder).as_posix()
            checked.add(f"{folder}/{rel}")
            assert any(
                fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel, p.removeprefix("**/"))
                for p in patterns
            ), f"{folder}/{rel} matches no package-data glob of {package}: {patterns}"
    assert {"templates/index.html", "static/main.js", "static/js/i18n.js"} <= checked


# --- settings -------------------------------------------------------------------------


def test_settings_defaults():
    s = Settings.from_env({})
    assert s == Settings()
    assert (s.host, s.port, s.log_level) == ("127.0.0.1", 8000, "info")
    assert s.allowed_origins == ()
    assert (s.max_sessions, s.max_sessions_per_client) == (100, 100)
    assert (s.room_idle_seconds, s.max_rooms, s.max_viewers_per_room) == (1800, 50, 500)
    assert s.redis_url is None


def test_settings_from_env():
    s = Settings.from_env(
        {
            "DESCENT_HOST": "0.0.0.0",
            "DESCENT_PORT": "9001",
            "DESCENT_LOG_LEVEL": "DEBUG",
            "DESCENT_ALLOWED_ORIGINS": "https://a.example, http://b.example:8080/ ,",
            "DESCENT_MAX_SESSIONS": "7",
            "DESCENT_MAX_SESSIONS_PER_CLIENT": "3",
            "DESCENT_ROOM_IDLE_SECONDS": "0.5",
            "DESCENT_MAX_ROOMS": "2",
            "DESCENT_MAX_VIEWERS_PER_ROOM": "9",
            "REDIS_URL": "redis://localhost:6379/0",
            "DESCENT_PORT_UNRELATED": "x",
        }
    )
    assert (s.host, s.port, s.log_level) == ("0.0.0.0", 9001, "debug")
    assert s.allowed_origins == ("https://a.example", "http://b.example:8080")
    assert (s.max_sessions, s.max_sessions_per_client) == (7, 3)
    assert (s.room_idle_seconds, s.max_rooms, s.max_viewers_per_room) == (0.5, 2, 9)
    assert s.redis_url == "redis://localhost:6379/0"


def test_blank_variables_keep_the_defaults():
    assert Settings.from_env({"DESCENT_PORT": "", "REDIS_URL": " "}) == Settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DESCENT_PORT", "abc", "DESCENT_PORT must be an integer in [1, 65535], got 'abc'"),
        ("DESCENT_PORT", "0", "DESCENT_PORT must be an integer in [1, 65535], got 0"),
        ("DESCENT_PORT", "70000", "DESCENT_PORT"),
        ("DESCENT_LOG_LEVEL", "loud", "DESCENT_LOG_LEVEL must be one of"),
        ("DESCENT_MAX_SESSIONS", "-1", "DESCENT_MAX_SESSIONS"),
        ("DESCENT_MAX_SESSIONS_PER_CLIENT", "1.5", "DESCENT_MAX_SESSIONS_PER_CLIENT"),
        ("DESCENT_MAX_ROOMS", "0", "DESCENT_MAX_ROOMS"),
        ("DESCENT_MAX_VIEWERS_PER_ROOM", "many", "DESCENT_MAX_VIEWERS_PER_ROOM"),
        ("DESCENT_ROOM_IDLE_SECONDS", "0", "DESCENT_ROOM_IDLE_SECONDS"),
        ("DESCENT_ROOM_IDLE_SECONDS", "nan", "DESCENT_ROOM_IDLE_SECONDS"),
        ("DESCENT_ROOM_IDLE_SECONDS", "soon", "DESCENT_ROOM_IDLE_SECONDS"),
        ("DESCENT_ALLOWED_ORIGINS", "example.com", "DESCENT_ALLOWED_ORIGINS"),
        ("DESCENT_ALLOWED_ORIGINS", "https://a.example/app", "DESCENT_ALLOWED_ORIGINS"),
        ("DESCENT_HOST", "bad host", "DESCENT_HOST"),
        ("REDIS_URL", "http://localhost", "REDIS_URL"),
    ],
)
def test_bad_settings_name_the_variable(variable, value, message):
    with pytest.raises(ValueError) as info:
        Settings.from_env({variable: value})
    assert message in str(info.value)


def test_settings_are_frozen_and_validated_on_construction():
    s = Settings()
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="DESCENT_PORT"):
        Settings(port=0)


def test_create_app_keeps_the_settings():
    settings = Settings(max_rooms=3)
    assert create_app(settings).state.settings is settings


def test_cors_only_for_allowed_origins():
    other = "https://other.example"
    closed = TestClient(create_app(Settings()))
    assert (
        "access-control-allow-origin"
        not in closed.get("/api/health", headers={"Origin": other}).headers
    )
    opened = TestClient(create_app(Settings(allowed_origins=(other,))))
    response = opened.get("/api/health", headers={"Origin": other})
    assert response.headers["access-control-allow-origin"] == other


# --- CLI ------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def test_cli_help():
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--open", "--log-level"):
        assert option in result.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "descent-playground"
    assert script.exists(), "pip install -e '.[test]' installs the descent-playground script"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "--port" in result.stdout


def test_cli_bad_environment_exits_2_without_traceback():
    result = run_cli(env={"DESCENT_PORT": "abc"})
    assert result.returncode == 2
    assert "DESCENT_PORT must be an integer in [1, 65535], got 'abc'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_bad_port_option_exits_2():
    result = run_cli("--port", "99999")
    assert result.returncode == 2
    assert "--port" in result.stderr and "Traceback" not in result.stderr


def test_cli_urls():
    assert cli.urls("127.0.0.1", 8123) == ["http://127.0.0.1:8123/"]
    assert cli.urls("::1", 8123) == ["http://[::1]:8123/"]
    everywhere = cli.urls("0.0.0.0", 8123)
    assert everywhere[0] == "http://127.0.0.1:8123/"
    # The LAN addresses are this machine's, as the kernel lists them (none: none printed).
    found, mine = cli.lan_addresses(), local_ipv4_addresses()
    assert set(found) <= mine and bool(found) == bool(mine), (found, mine)
    assert everywhere[1:] == [f"http://{a}:8123/" for a in found]


def test_cli_serves_the_app():
    port = str(free_port())
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--port", port, "--log-level", "warning"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        for _ in range(100):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_pages_own_js_and_css_fit_the_budget_as_the_network_carries_them(client):
    """64 KiB gzipped in all (plotly.js excluded), as the server sends them (minified, then
    gzipped): the page is loaded on phones over school Wi-Fi."""
    files = [STATIC_DIR / "main.js", STATIC_DIR / "style.css", *sorted((STATIC_DIR / "js").glob("*.js"))]
    assert len(files) > 10
    assets.warm(STATIC_DIR)  # what the server's start-up does in the background: Zopfli's gzip
    carried = 0
    for f in files:
        response = client.get(f"/static/{f.relative_to(STATIC_DIR).as_posix()}",
                              headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, f
        carried += int(response.headers["content-length"])  # gzipped unless under 1,000 bytes
    assert carried <= 64 * 1024, f"{carried:,} bytes gzipped in {len(files)} files"


def test_js_and_css_are_served_minified_and_still_revalidated(client):
    """The sources keep their comments; the wire does not (and a 304 still answers a revalidation)."""
    source = (STATIC_DIR / "js" / "draw.js").read_text(encoding="utf-8")
    response = client.get("/static/js/draw.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "export function createDraw" in response.text and "//" not in response.text
    assert len(response.text) < 0.8 * len(source)
    css = client.get("/static/style.css")
    assert "/*" not in css.text and ".board" in css.text
    again = client.get("/static/js/draw.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    svg = client.get("/static/favicon.svg")  # any other file as it is
    assert svg.content == (STATIC_DIR / "favicon.svg").read_bytes()
