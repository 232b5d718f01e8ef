"""Menu versions shared across hosts: publish, list and roll back through the database."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from ivr.testing.phone import HttpTransport, PhoneCall
from tests.databases import postgres_schema
from tests.server import Server, health, running_server, wait_for_health
from tests.webhooks import TOKEN, said
from tests.workspace import copy_workspace, run_ivr

CLOCK = {"IvrTestClock": "2026-11-30T10:00:00+08:00"}
RELOAD_INTERVAL = 0.2  # IVR_RELOAD_INTERVAL of the servers under test


def ivr(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """Run `ivr ARGS` against the database at `url`."""
    return run_ivr(*args, env={"IVR_DATABASE_URL": url}, timeout=60)


def version_of(server: Server) -> str:
    """The menu version a server says it serves."""
    return str(health(server)["menu"]["version"])


def wait_until_served(servers: list[Server], version: str, changed_at: float) -> None:
    """Wait until both hosts report `version` and a reload interval has passed since it changed at `changed_at`."""
    wait_for_health(servers, lambda body: body["menu"]["version"] == version, settled_after=changed_at + RELOAD_INTERVAL)


def welcome(server: Server, entries: Iterator[str] | list[str] | None = None) -> str:
    """Everything said in a short in-hours call."""
    phone = PhoneCall(HttpTransport(server.url), "https://ivr.example.test", TOKEN, extra=CLOCK)
    return said(phone.run(entries or []))


def test_publish_reaches_every_host_and_rollback_returns(tmp_path: Path) -> None:
    """A published version is served by every worker on both hosts within seconds; rollback restores the old one."""
    edited = copy_workspace(tmp_path)
    edited.write_text(edited.read_text(encoding="utf-8").replace("您好，欢迎致电", "您好（发布版），欢迎致电"), encoding="utf-8")
    broken = tmp_path / "menus" / "broken.yaml"
    broken.write_text(edited.read_text(encoding="utf-8").replace("      1: business\n", "      1: nowhere\n"), encoding="utf-8")
    with postgres_schema() as url:
        env = {
            "IVR_DATABASE_URL": url,
            "IVR_TEST_CLOCK": "1",
            "IVR_RELOAD_INTERVAL": str(RELOAD_INTERVAL),
            "IVR_PUBLIC_URL": "https://ivr.example.test",
        }
        with running_server(tmp_path / "a", workers=2, **env) as a, running_server(tmp_path / "b", workers=2, **env) as b:
            original = version_of(a)
            assert "您好，欢迎致电" in welcome(a)

            refused = ivr("menu", "publish", str(broken), url=url)
            assert refused.returncode == 1 and "unknown target 'nowhere'" in refused.stderr

            published = ivr("menu", "publish", str(edited), url=url)
            published_at = time.monotonic()
            assert published.returncode == 0, published.stderr
            new = published.stdout.split("version ")[1].split(";")[0]
            wait_until_served([a, b], new, published_at)
            for server in (a, b, a, b):
                assert "您好（发布版）" in welcome(server)

            listing = ivr("menu", "versions", url=url)
            assert f"* {new}" in listing.stdout and original in listing.stdout

            def entries() -> Iterator[str]:
                yield "3"
                rolled = ivr("menu", "rollback", original, url=url)
                rolled_at = time.monotonic()
                assert rolled.returncode == 0, rolled.stderr
                wait_until_served([a, b], original, rolled_at)
                yield "*"

            in_progress = welcome(b, entries())
            assert "您好（发布版）" in in_progress  # the call kept the version it started on
            for server in (a, b):
                assert "您好，欢迎致电" in welcome(server)
            assert ivr("menu", "rollback", "000000000000", url=url).returncode == 2
