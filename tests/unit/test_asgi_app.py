"""The server as an ASGI application (``App``), driven in-process by httpx: the same
answers as over ``opensfn serve``'s own HTTP protocol."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from opensfn.api.app import create_app
from opensfn.config import load_settings


def test_the_app_answers_over_asgi(tmp_path: Path) -> None:
    async def main() -> None:
        app = create_app(load_settings({"db": str(tmp_path / "asgi.db")}, environ={}))
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                headers = {
                    "X-Amz-Target": "AWSStepFunctions.CreateActivity",
                    "Content-Type": "application/x-amz-json-1.0",
                }
                reply = await client.post("/", content=b'{"name": "over-asgi"}', headers=headers)
                assert reply.status_code == 200 and reply.headers["x-amzn-requestid"]
                assert reply.json()["activityArn"].endswith(":activity:over-asgi")
                bad = await client.post("/", content=b"{not json", headers=headers)
                assert (bad.status_code, bad.json()["__type"]) == (400, "SerializationException")
                big = await client.post("/", content=b"x" * 1_300_000, headers=headers)
                assert big.json()["__type"] == "RequestEntityTooLargeException"
                health = await client.get("/_opensfn/health")
                assert json.loads(health.content) == {"status": "ok"}
                assert (await client.get("/nowhere")).status_code == 404
        finally:
            await app.shutdown()

    asyncio.run(main())
