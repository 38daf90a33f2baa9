"""The HTTP layer alone (httpx MockTransport, fake clock, a recording pacer): retries with
backoff and Retry-After, 429 pauses, finite attempts, dry run refused before sending, and
credentials never in the logs."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest
import structlog
from writer_support import PASSWORD, FakeClock, cmd

from roster.shared.errors import NotFoundError, TransientError
from roster.shared.messages.commands import CreateUser, DeleteGroup
from roster.writer.adapters.http import ConfluenceHttp, DryRunError
from roster.writer.metrics import WriterMetrics
from roster.writer.settings import WriterOptions

AUTH = "Basic c2VjcmV0OnNlY3JldA=="


class RecordingPacer:
    def __init__(self) -> None:
        self.acquired = 0
        self.pauses: list[float | None] = []
        self.observed: list[int | None] = []

    async def acquire(self) -> float:
        self.acquired += 1
        return 0.0

    async def pause(self, seconds: float | None) -> None:
        self.pauses.append(seconds)

    async def observe(self, headers: Mapping[str, str], status: int | None) -> None:
        self.observed.append(status)


def layer(answers, *, clock: FakeClock, pacer=None, **options):
    sent: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://c.test")
    metrics = WriterMetrics()
    http = ConfluenceHttp(
        client,
        authorization=AUTH,
        options=WriterOptions(**options),
        pacer=pacer or RecordingPacer(),
        clock=clock,
        metrics=metrics,
    )
    return http, sent, metrics


async def test_transient_failures_are_retried_with_backoff_and_retry_after() -> None:
    clock = FakeClock()
    pacer = RecordingPacer()
    http, sent, metrics = layer(
        [
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(503, headers={"Retry-After": "7"}, json={"message": "busy"}),
            httpx.Response(200, json={"ok": True}),
        ],
        clock=clock,
        pacer=pacer,
    )
    assert await http.get_json("/rest/api/group") == {"ok": True}
    assert len(sent) == 4
    assert pacer.acquired == 4  # every attempt waits for the rate limit
    assert len(clock.sleeps) == 3
    assert clock.sleeps[2] >= 7.0  # Retry-After is a floor
    assert all(r.headers["Authorization"] == AUTH for r in sent)
    samples = {
        (s.labels["method"], s.labels["status_class"]): s.value
        for s in metrics.http_requests.collect()[0].samples
        if s.name.endswith("_total")
    }
    assert samples == {("GET", "error"): 2.0, ("GET", "5xx"): 1.0, ("GET", "2xx"): 1.0}


async def test_attempts_are_finite() -> None:
    clock = FakeClock()
    http, sent, _ = layer([httpx.Response(502)] * 3, clock=clock, max_attempts=3)
    with pytest.raises(TransientError) as caught:
        await http.get_json("/rest/api/group")
    assert caught.value.status == 502
    assert len(sent) == 3


async def test_429_pauses_everyone_and_does_not_use_up_attempts() -> None:
    clock = FakeClock()
    pacer = RecordingPacer()
    answers = [httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"})]
    http, sent, _ = layer(
        answers * 4 + [httpx.Response(204)], clock=clock, pacer=pacer, max_attempts=2
    )
    response = await http.request("PUT", "/rest/api/user/a/group/g")
    assert response.status_code == 204
    assert pacer.pauses == [3.0] * 4
    assert clock.sleeps == []  # the pause is the pacer's job (shared through Redis)


async def test_4xx_is_not_retried_and_keeps_confluences_message() -> None:
    clock = FakeClock()
    http, sent, _ = layer(
        [httpx.Response(404, json={"statusCode": 404, "message": "No group found with name: g"})],
        clock=clock,
    )
    with pytest.raises(NotFoundError, match="No group found with name: g"):
        await http.get_json("/rest/api/group/g")
    assert len(sent) == 1


async def test_html_error_pages_become_short_text() -> None:
    clock = FakeClock()
    page = "<html><body><h1>Bad gateway</h1><p>nginx</p></body></html>"
    http, _, _ = layer([httpx.Response(400, text=page)], clock=clock)
    with pytest.raises(Exception, match="Bad gateway nginx"):
        await http.get_json("/x")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_dry_run_refuses_before_sending(method) -> None:
    clock = FakeClock()
    http, sent, _ = layer([httpx.Response(200, json={})], clock=clock, dry_run=True)
    with pytest.raises(DryRunError, match="dry run"):
        await http.request(method, "/rest/api/admin/group", json={"name": "g"})
    assert sent == []
    assert await http.get_json("/rest/api/group") == {}


async def test_secrets_never_reach_the_logs(make_sim, make_writer, monkeypatch) -> None:
    import roster.writer.adapters.users as users

    monkeypatch.setattr(users, "new_password", lambda: "S3cret-Pa55word")
    for version in ("7.13", "8.4"):
        writer = make_writer(make_sim(version), key_prefix=version)
        with structlog.testing.capture_logs() as logs:
            await writer.executor.execute(
                cmd(CreateUser, username="sam", display_name="Sam", email="sam@example.com")
            )
            await writer.executor.execute(cmd(DeleteGroup, group="confluence-administrators"))
        text = repr(logs)
        assert logs
        for secret in ("S3cret-Pa55word", "YWRtaW46YWRtaW4", PASSWORD + "@", "Basic "):
            assert secret not in text
