"""The deployment's files hold together: nginx accepts its configuration, and compose.yaml wires the
processes the way the app expects (no container engine runs here, so this is what can be checked)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import missing

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_nginx_accepts_the_deployment_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        missing("nginx is not installed (apt-get install nginx)")
    tls = tmp_path / "tls"
    tls.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hw.test",
                    "-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem")],
                   check=True, capture_output=True)
    site = (DEPLOY / "nginx.conf").read_text().replace("/etc/nginx/tls/", f"{tls}/")
    (tmp_path / "default.conf").write_text(site)
    (tmp_path / "main.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {tmp_path / 'default.conf'};\n}}\n")
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "main.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_every_long_running_service_has_a_health_check_and_the_apps_start_after_the_migration() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "app1", "app2", "coturn", "nginx"}
    for name in ("postgres", "redis", "app1", "app2", "coturn", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    for app in ("app1", "app2"):
        assert services[app]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["nginx"]["depends_on"] == {"app1": {"condition": "service_healthy"},
                                               "app2": {"condition": "service_healthy"}}


def test_each_app_process_is_in_nginx_upstream_at_its_own_internal_url() -> None:
    services = _compose()["services"]
    upstream = re.search(r"upstream homewatch \{(.*?)\}", (DEPLOY / "nginx.conf").read_text(), re.S)
    assert upstream is not None
    proxied = set(re.findall(r"server (\S+)", upstream.group(1)))
    internal = set()
    for app in ("app1", "app2"):
        env = services[app]["environment"]
        url = env["HOMEWATCH_INTERNAL_URL"]
        port = services[app]["command"][services[app]["command"].index("--port") + 1]
        assert url == f"http://127.0.0.1:{port}"
        internal.add(url.removeprefix("http://"))
        # Shared by every process: the database, the events, the snapshots, the TURN secret with coturn.
        assert env["HOMEWATCH_REDIS_URL"] and env["HOMEWATCH_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "/data/media" in " ".join(services[app]["volumes"])
        assert env["HOMEWATCH_TURN_SECRET"] == "${HOMEWATCH_TURN_SECRET:?set HOMEWATCH_TURN_SECRET in deploy/.env " \
                                               "(48+ random characters)}"
        assert env["HOMEWATCH_TRUSTED_PROXIES"] == "127.0.0.1"
        assert env["HOMEWATCH_ENVIRONMENT"] == "production"
    assert proxied == internal
    assert "--static-auth-secret=${HOMEWATCH_TURN_SECRET}" in services["coturn"]["command"]
