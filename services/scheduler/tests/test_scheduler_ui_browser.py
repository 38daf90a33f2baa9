"""The admin web UI in headless Chromium (Debian's, driven by Selenium through Debian's
chromedriver) against the real scheduler app served by uvicorn on the real Kafka and Redis:
the dashboard after login, a run's results with a filter applied, and an operator approving
a held run (RunApproved on `roster.run-decisions`; the run leaves `held` when the
reconciler's RunPlanned reaches the app's sink). Each saves a screenshot to
`test-artifacts/screenshots/`.

Chromium is installed by `scripts/chromium.sh` when missing; no chromium, no Kafka or no
Redis FAILS these tests, never skips them.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait
from test_scheduler_ui import (
    DIRECTORIES,
    HELD_SUMMARY,
    OPERATOR,
    TOKENS,
    VIEWER,
    seed_finished_run,
    seed_held_run,
)

from roster.scheduler.app import build_app
from roster.scheduler.runs import RunStore
from roster.shared import topics
from roster.shared.config import RosterConfig
from roster.shared.messages.codec import decode, encode, headers
from roster.shared.messages.decisions import RunApproved
from roster.shared.messages.runs import RunPlanned
from roster.shared.redisdb import Keys

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "test-artifacts" / "screenshots"
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:39092")
WAIT = 30


# ---------------------------------------------------------------- chromium ----


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    found = subprocess.run(
        [str(ROOT / "scripts" / "chromium.sh")], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        pytest.fail(f"no headless chromium: {found.stderr.strip()[-500:]}")
    paths = dict(line.split("=", 1) for line in found.stdout.split() if "=" in line)
    options = Options()
    options.binary_location = paths["CHROMIUM"]
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(paths["CHROMEDRIVER"]), options=options)
    browser.set_page_load_timeout(WAIT)
    yield browser
    browser.quit()


def screenshot(browser: webdriver.Chrome, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert browser.save_screenshot(str(path)), f"no screenshot {path}"
    assert path.stat().st_size > 0
    return path


# ---------------------------------------------------------------- the served app ----


@dataclass
class Served:
    base: str
    prefix: str
    store: RunStore
    redis: redis.Redis
    keys: Keys


def scheduler_config(prefix: str) -> RosterConfig:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: run `make test`")
    return RosterConfig(
        kafka={"bootstrap_servers": BOOTSTRAP, "topic_prefix": prefix, "partitions": 1,
               "group_prefix": prefix.rstrip(".")},
        redis={"url": url, "key_prefix": prefix},
        directories=DIRECTORIES,
    )  # fmt: skip


async def require_kafka() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        await admin.close()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Kafka not reachable at {BOOTSTRAP} ({exc!r}): run scripts/stack.sh start")


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    await require_kafka()
    prefix = f"tui{uuid.uuid4().hex[:10]}."
    config = scheduler_config(prefix)
    app = build_app(config, authenticator=TOKENS)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    client = redis.Redis.from_url(config.redis.url, decode_responses=True)
    keys = Keys(prefix)
    try:
        await _wait_ready(base)
        yield Served(base, prefix, RunStore(client, keys), client, keys)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)
        sock.close()
        async for key in client.scan_iter(match=f"{prefix}*", count=5000):
            await client.delete(key)
        await client.aclose()


async def _wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        pytest.fail("the scheduler did not get ready (Kafka consumers, Redis)")


def login(browser: webdriver.Chrome, base: str, token: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{base}/ui/login")
    field = browser.find_element(By.ID, "token")
    field.send_keys(token)
    field.submit()
    WebDriverWait(browser, WAIT).until(expected_conditions.url_to_be(f"{base}/ui/"))


async def read_decisions(prefix: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        prefix + topics.RUN_DECISIONS, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[Any] = []
    try:
        async with asyncio.timeout(WAIT):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    out.extend(decode(topics.RUN_DECISIONS, r.value) for r in records)
    finally:
        await consumer.stop()
    return out


async def publish_run_event(prefix: str, event: Any) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        hdrs = [(k, v.encode()) for k, v in headers(event, source="test").items()]
        await producer.send_and_wait(
            prefix + topics.RUN_EVENTS, encode(event), key=event.run_id.encode(), headers=hdrs
        )
    finally:
        await producer.stop()


# ---------------------------------------------------------------- the tests ----


async def test_dashboard_after_login(served: Served, driver: webdriver.Chrome) -> None:
    await seed_finished_run(served.store)
    await seed_held_run(served.store, served.redis, served.keys)
    await asyncio.to_thread(login, driver, served.base, VIEWER)
    assert "(viewer)" in driver.find_element(By.ID, "principal").text
    directories = driver.find_elements(By.CSS_SELECTOR, "#directories tbody tr")
    assert [row.find_element(By.TAG_NAME, "td").text for row in directories] == [
        "corp",
        "partners",
    ]
    # no fetcher runs in this test: the health check fails → "unknown", not an error page
    assert {row.find_elements(By.TAG_NAME, "td")[2].text for row in directories} == {"unknown"}
    runs = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr[data-run]")
    assert {r.get_attribute("data-run") for r in runs} == {"run-done", "run-held"}
    assert "4 / 4" in driver.find_element(By.CSS_SELECTOR, 'tr[data-run="run-done"]').text
    assert driver.find_element(By.CSS_SELECTOR, "#pending strong").text == "1"
    screenshot(driver, "dashboard")


async def test_run_results_with_a_filter(served: Served, driver: webdriver.Chrome) -> None:
    await seed_finished_run(served.store)
    await asyncio.to_thread(login, driver, served.base, VIEWER)
    driver.get(f"{served.base}/ui/runs/run-done")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#results tr.result")) == 4
    Select(driver.find_element(By.NAME, "operation")).select_by_value("CreateUser")
    driver.find_element(By.ID, "apply-filter").click()
    WebDriverWait(driver, WAIT).until(expected_conditions.url_contains("operation=CreateUser"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#results tr.result")
    assert sorted(r.find_element(By.CLASS_NAME, "user").text for r in rows) == ["alice", "dave"]
    assert {r.get_attribute("data-operation") for r in rows} == {"CreateUser"}
    assert (
        driver.find_element(By.ID, "download")
        .get_attribute("href")
        .startswith(f"{served.base}/api/v1/runs/run-done/results")
    )
    screenshot(driver, "run-results-filtered")


async def test_operator_approves_a_held_run(served: Served, driver: webdriver.Chrome) -> None:
    await seed_held_run(served.store, served.redis, served.keys)
    await asyncio.to_thread(login, driver, served.base, OPERATOR)
    driver.get(f"{served.base}/ui/approvals")
    card = driver.find_element(By.ID, "held-run-held")
    risky = [row.find_element(By.TAG_NAME, "td").text for row in
             card.find_elements(By.CSS_SELECTOR, "table.risky tbody tr")]  # fmt: skip
    assert risky == ["zed", "erin", "gina"]
    screenshot(driver, "approval-pending")
    card.find_element(By.NAME, "approve").click()
    WebDriverWait(driver, WAIT).until(
        expected_conditions.url_to_be(f"{served.base}/ui/runs/run-held")
    )
    (decision,) = await read_decisions(served.prefix, 1)
    assert isinstance(decision, RunApproved)
    assert (decision.run_id, decision.directory) == ("run-held", "corp")
    # the reconciler executes the approved plan and says so; the app's sink records it
    planned = RunPlanned(run_id="run-held", directory="corp", summary=HELD_SUMMARY, commands=4)
    await publish_run_event(served.prefix, planned)
    async with asyncio.timeout(WAIT):
        while ((await served.store.get("run-held")) or {}).get("status") == "held":
            await asyncio.sleep(0.2)
    run = await served.store.get("run-held")
    assert run is not None
    assert (run["status"], run["decision"]) == ("running", "approved")
    driver.get(f"{served.base}/ui/runs/run-held")
    assert "running" in driver.find_element(By.TAG_NAME, "h1").text
    driver.get(f"{served.base}/ui/approvals")
    assert driver.find_elements(By.ID, "no-held")
    driver.get(f"{served.base}/ui/runs/run-held")
    screenshot(driver, "approval-approved")
