"""Small pieces the fleet phases share: percentiles, the operator's REST client, waiting."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

import httpx

from facegate_bench.fleet.services import Server

#: The benchmark's own database (dropped and made again by every run).
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/facegate_bench_fleet"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_s": rounded(pct(values, 50)),
        "p95_s": rounded(pct(values, 95)),
        "max_s": rounded(max(values) if values else None),
    }


def rounded(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class Admin:
    """The operator's side: the REST API with an admin's bearer token."""

    def __init__(self, server: Server, password: str) -> None:
        self.http = httpx.AsyncClient(base_url=server.url, timeout=120)
        self.password = password
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = await self.http.post(
                    "/api/v1/auth/token", data={"username": "admin", "password": self.password}
                )
                r.raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def call(self, method: str, url: str, **kw: Any) -> Any:
        r = await self.http.request(method, url, headers=self.headers, **kw)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    async def close(self) -> None:
        await self.http.aclose()


async def gather_limited(n: int, coros: list) -> list:
    sem = asyncio.Semaphore(n)

    async def one(c):
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def wait_until(pred: Callable[[], bool], timeout_s: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True
