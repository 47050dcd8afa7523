"""Safe by default: token, host and origin checks, closed CORS, offline docs, bounded queue."""

from __future__ import annotations

import re
import threading
import time
from importlib import resources

import numpy as np
import pytest
from fastapi.testclient import TestClient

from facecloak.cli import main
from facecloak.web import ServerSettings, create_app, is_loopback
from facecloak.web.jobs import JobStore, Photo, QueueFull

API = "/api/v1"
NAMESPACES = {"http://www.w3.org/2000/svg"}
"""URIs that name an XML namespace: never fetched."""


@pytest.fixture(scope="module")
def token_client(pool, small_settings: ServerSettings):
    settings = ServerSettings(**{**small_settings.__dict__, "token": "s3cret-token"})
    with TestClient(create_app(settings, pool)) as client:
        yield client


def test_token_is_required_on_the_api(token_client) -> None:
    response = token_client.get(f"{API}/models")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in response.json()["error"]
    wrong = token_client.get(f"{API}/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = token_client.get(f"{API}/models", headers={"Authorization": "Bearer s3cret-token"})
    assert right.status_code == 200
    assert token_client.get(f"{API}/health").status_code == 200
    assert token_client.get("/").status_code == 200  # the page holds no data; it asks for the token


def test_unknown_host_is_refused(client) -> None:
    response = client.get(f"{API}/health", headers={"host": "attacker.example"})
    assert response.status_code == 400 and "host" in response.json()["error"]


def test_cross_origin_requests_are_refused_and_cors_is_closed(client) -> None:
    evil = {"origin": "http://attacker.example"}
    response = client.post(f"{API}/detect", headers=evil, files={"photo": ("a.png", b"x")})
    assert response.status_code == 403 and "cross-origin" in response.json()["error"]
    same = client.get(f"{API}/health", headers={"origin": "http://testserver"})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers
    preflight = client.options(
        f"{API}/jobs", headers={**evil, "access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_security_headers(client) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_docs_work_offline(client) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for path in ("/jobs", "/jobs/{job_id}", "/jobs/{job_id}/files/{n}", "/jobs/{job_id}/zip"):
        assert f"{API}{path}" in paths
    for path in ("/compare", "/detect", "/models", "/health"):
        assert f"{API}{path}" in paths
    assert client.get("/redoc").status_code == 404


def test_no_asset_references_an_external_url(client) -> None:
    static = resources.files("facecloak.web") / "static"
    texts = {item.name: item.read_text() for item in static.iterdir() if item.is_file()}
    texts["/docs"] = client.get("/docs").text
    texts["/"] = client.get("/").text
    texts["/openapi.json"] = client.get("/openapi.json").text
    for name, text in texts.items():
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text))
        assert urls <= NAMESPACES, (name, urls - NAMESPACES)
        assert "cdn" not in text.lower(), name


def test_static_paths_cannot_escape(client) -> None:
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapi.py"):
        assert client.get(path).status_code == 404


def slow_store(queue_size: int, release: threading.Event) -> JobStore:
    def process(photo: Photo, options: dict, report) -> None:
        report(0.5)
        release.wait(10)
        photo.report, photo.files = {"ok": True}, {"protected": b"png"}

    return JobStore(process, workers=1, queue_size=queue_size, ttl=0.3)


def test_queue_is_bounded_then_jobs_expire() -> None:
    release = threading.Event()
    store = slow_store(queue_size=1, release=release)
    try:
        running = store.submit({}, [Photo("a", b"1")])
        time.sleep(0.3)  # the worker takes it; the queue is empty again
        assert running.status == "running" and running.progress == 0.5
        store.submit({}, [Photo("b", b"2")])
        with pytest.raises(QueueFull):
            store.submit({}, [Photo("c", b"3")])
        release.set()
        time.sleep(0.5)
        assert running.status == "done" and running.photos[0].upload is None
        time.sleep(0.5)
        assert store.get(running.id) is None and len(store) == 0
    finally:
        release.set()
        store.close()


def test_a_failing_photo_does_not_stop_the_worker() -> None:
    calls = []

    def process(photo: Photo, options: dict, report) -> None:
        calls.append(photo.name)
        if photo.name == "bad":
            raise RuntimeError("boom")

    store = JobStore(process, workers=1, queue_size=2, ttl=60)
    try:
        job = store.submit({}, [Photo("bad", b"1"), Photo("good", b"2")])
        for _ in range(50):
            if job.status != "running" and job.status != "queued":
                break
            time.sleep(0.05)
        assert calls == ["bad", "good"] and job.status == "done"
        assert job.photos[0].status == "failed" and "server's log" in job.photos[0].error
    finally:
        store.close()


def test_api_answers_429_and_409_while_busy(monkeypatch, small_settings, to_bytes) -> None:
    import facecloak.web.app as web_app

    release = threading.Event()

    def blocking(pool, caps):
        def process(photo: Photo, options: dict, report) -> None:
            release.wait(10)
            photo.report, photo.files = {}, {"protected": b"", "difference": b""}

        return process

    monkeypatch.setattr(web_app, "photo_processor", blocking)
    settings = ServerSettings(**{**small_settings.__dict__, "queue_size": 1})
    png = to_bytes(np.zeros((4, 4, 3), np.uint8))
    with TestClient(create_app(settings)) as client:
        try:
            first = client.post(f"{API}/jobs", files=[("photos", ("a.png", png))]).json()["id"]
            time.sleep(0.3)
            client.post(f"{API}/jobs", files=[("photos", ("b.png", png))])
            busy = client.post(f"{API}/jobs", files=[("photos", ("c.png", png))])
            assert busy.status_code == 429 and busy.headers["retry-after"]
            assert "busy" in busy.json()["error"]
            not_ready = client.get(f"{API}/jobs/{first}/files/0")
            assert not_ready.status_code == 409 and "not ready" in not_ready.json()["error"]
            assert client.get(f"{API}/jobs/{first}/zip").status_code == 409
        finally:
            release.set()


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_serve_refuses_the_network_without_a_token(capsys) -> None:
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "--token" in err and "network" in err and len(err.strip().splitlines()) == 1


def test_serve_starts_with_its_settings(monkeypatch) -> None:
    import facecloak.cli.serve as serve_command

    seen = {}
    monkeypatch.setattr(serve_command, "serve", lambda s, open_browser: seen.update(s=s))
    assert main(["serve", "--host", "0.0.0.0", "--token", "long-enough", "--port", "8123"]) == 0
    assert seen["s"].token == "long-enough" and seen["s"].port == 8123
    assert main(["serve", "--port", "0"]) == 2


def test_an_unexpected_failure_is_json_without_a_traceback(
    monkeypatch, pool, small_settings
) -> None:
    import facecloak.web.api as api

    def broken(request):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "services", broken)
    with TestClient(create_app(small_settings, pool), raise_server_exceptions=False) as client:
        response = client.get(f"{API}/health")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error; see the server's log"}
