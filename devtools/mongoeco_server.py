"""Run a mongoeco MongoDB wire-protocol server until SIGTERM.

    python -m devtools.mongoeco_server --port 27017 [--sqlite .demo/mongo.sqlite] [--user NAME]

With --user, the password comes from the MONGOECO_PASSWORD environment variable
and clients must authenticate (SCRAM) against the `admin` database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from mongoeco.engines import SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer

from devtools.mongoeco_fast import IndexedMemoryEngine


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sqlite", help="keep data in this SQLite file (default: in memory)")
    parser.add_argument("--user", help="require this user, password from MONGOECO_PASSWORD")
    return parser.parse_args(argv)


def auth_users(user: str | None) -> tuple:
    if not user:
        return ()
    from mongoeco.wire.auth import WireAuthUser

    return (WireAuthUser(username=user, password=os.environ["MONGOECO_PASSWORD"]),)


async def serve(args: argparse.Namespace) -> None:
    engine = SQLiteEngine(args.sqlite) if args.sqlite else IndexedMemoryEngine()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = AsyncMongoEcoProxyServer(
        engine=engine, host=args.host, port=args.port, auth_users=auth_users(args.user)
    )
    async with server:
        print(f"mongoeco listening on {server.address.uri}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(parse_args()))
