"""The production shape (scripts/production.sh) without running it: its nginx configuration
(scripts/nginx.conf) is README's, every line of README's nginx block in it, and nginx accepts
what the script writes; its Keycloak stand-in (`python -m tests.idp`) serves its people. No
service outside the test needs to run."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "scripts" / "nginx.conf"
SCRIPT = ROOT / "scripts" / "production.sh"
NGINX = "/usr/sbin/nginx"


def readme_block() -> list[str]:
    """The non-empty lines of README's ```nginx fenced block, stripped."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```nginx\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "README has one nginx block"
    return [line.strip() for line in blocks[0].splitlines() if line.strip()]


def test_every_line_of_readmes_nginx_block_is_in_the_template():
    lines = [line.strip() for line in TEMPLATE.read_text().splitlines()]
    block = readme_block()
    assert "location /events {" in block and "location / {" in block
    assert [line for line in block if line not in lines] == []
    # And in README's order, nothing between: the template runs that very block.
    code = [line for line in lines if line and not line.startswith("#")]
    starts = [n for n, line in enumerate(code) if line == block[0]]
    assert any(code[n : n + len(block)] == block for n in starts)


def test_the_template_sends_the_request_id_and_keeps_queries_and_metrics_out():
    text = TEMPLATE.read_text()
    # In both locations, so that nginx's line and the desk's lines of a request share it.
    assert text.count("proxy_set_header X-Request-ID $request_id;") == 2
    log_format = re.search(r"log_format desk_json escape=json(.*?);\n", text, re.DOTALL).group(1)
    assert '"request_id":"$request_id"' in log_format and "$upstream_response_time" in log_format
    # A search's query string may hold a personal identity code: the path only.
    assert "$uri" in log_format
    for leak in ("$request_uri", '$request"', "$args", "$query_string", "$http_referer"):
        assert leak not in log_format, leak
    assert "location = /metrics { return 404; }" in text


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed")
def test_nginx_accepts_the_configuration_the_script_writes(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (the certificate)")
    written = subprocess.run(
        [str(SCRIPT), "nginx-config", str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    config = Path(written)
    assert config == tmp_path / "nginx" / "nginx.conf"
    generated = config.read_text()
    assert "@" not in "".join(
        line for line in generated.splitlines() if not line.lstrip().startswith("#")
    ), "every placeholder filled in"
    assert f"ssl_certificate {tmp_path}/tls/cert.pem;" in generated
    checked = subprocess.run(
        [NGINX, "-t", "-c", str(config), "-p", f"{tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


# --- the IdP stand-in on its own (python -m tests.idp) ---------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve_idp(tmp_path: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.idp",
            "--port",
            str(port),
            "--people",
            "3",
            "--leads",
            "1",
            "--municipalities",
            "porvoo,sipoo",
            "--output",
            str(tmp_path / "people.json"),
            "--key-file",
            str(tmp_path / "key.json"),
        ],
        cwd=ROOT,
        env={**os.environ, "IDP_CLIENT_SECRET": "stand-in-secret"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/realms/itauusimaa/.well-known/openid-configuration"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (loopback)
            return process
        except OSError:
            assert process.poll() is None, "the stand-in exited"
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the stand-in did not answer")


def test_the_idp_stand_in_serves_its_people_from_the_command_line(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}/realms/itauusimaa/protocol/openid-connect"
    process = _serve_idp(tmp_path, port)
    try:
        listing = json.loads((tmp_path / "people.json").read_text())
        assert (tmp_path / "people.json").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "key.json").stat().st_mode & 0o777 == 0o600
        names = [person["username"] for person in listing["people"]]
        assert names == ["pro0001", "pro0002", "pro0003", "lead01"]
        assert listing["people"][0]["municipalities"] == [
            "/municipalities/porvoo",
            "/municipalities/sipoo",
        ]
        verifier = "v" * 50
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "client_id": "desk",
            "response_type": "code",
            "redirect_uri": "https://desk.example/login/callback",
            "code_challenge_method": "S256",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "state": "s",
        }
        answer = requests.post(
            f"{base}/auth",
            params=query,
            data={"username": "lead01", "password": listing["password"]},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302
        code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
        exchange = {
            "grant_type": "authorization_code",
            "client_id": "desk",
            "code": code,
            "redirect_uri": query["redirect_uri"],
            "code_verifier": verifier,
        }
        wrong = requests.post(f"{base}/token", data={**exchange, "client_secret": "x"}, timeout=10)
        assert wrong.status_code == 401  # the secret is the environment's, not the tests'
        tokens = requests.post(
            f"{base}/token", data={**exchange, "client_secret": "stand-in-secret"}, timeout=10
        ).json()
        claims = tokens["access_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        assert "desk-team-lead" in claims["realm_access"]["roles"]
        key = requests.get(f"{base}/certs", timeout=10).json()["keys"][0]["n"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    # Started again: the same password, people and key (the desk keeps the realm's keys).
    process = _serve_idp(tmp_path, port)
    try:
        again = json.loads((tmp_path / "people.json").read_text())
        assert again["password"] == listing["password"]
        assert requests.get(f"{base}/certs", timeout=10).json()["keys"][0]["n"] == key
    finally:
        process.terminate()
        process.wait(timeout=10)
