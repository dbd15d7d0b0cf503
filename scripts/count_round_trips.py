#!/usr/bin/env python3
"""A counting TCP relay for the per-request benchmark (scripts/bench-per-request.sh).

    count_round_trips.py OUT_FILE LISTEN_PORT:TARGET_PORT[:NAME] ...

Relays each listen port on 127.0.0.1 to its target port and counts, per NAME, round
trips (client data that follows an answer from the server on that connection, or
opens it: a client that writes one request in several pieces waits once), the HTTP
requests among the client's data (reads that begin with a method) and, for the AWS
JSON protocol, each operation's count (its X-Amz-Target header). Totals are written to OUT_FILE as JSON
whenever they change (at most every 100 ms, replaced atomically), so a caller reads
them before and after a run and divides the difference by the requests it sent.
Only for counting with one client at a time: it adds a hop and its own CPU.
"""

import asyncio
import json
import os
import re
import sys

HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ", b"PATCH ")
TARGET = re.compile(rb"(?im)^x-amz-target:\s*[\w.]*?\.?(\w+)\r?$")
counts: dict[str, dict[str, int]] = {}
dirty = asyncio.Event()


class Connection:
    """Whether the server has answered since the client last sent."""

    def __init__(self):
        self.answered = True


async def pipe(reader, writer, connection, tally):
    """Copies one direction; `tally` is None for the server's side."""
    try:
        while data := await reader.read(65536):
            if tally is None:
                connection.answered = True
            else:
                if connection.answered:
                    tally["round_trips"] += 1
                    connection.answered = False
                if data.startswith(HTTP_METHODS):
                    tally["http_requests"] += 1
                    if target := TARGET.search(data):
                        operation = target.group(1).decode()
                        tally["operations"][operation] = tally["operations"].get(operation, 0) + 1
                dirty.set()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def relay(target_port, tally):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        connection = Connection()
        await asyncio.gather(
            pipe(client_reader, server_writer, connection, tally),
            pipe(server_reader, client_writer, connection, None),
        )

    return handle


async def write_totals(path):
    while True:
        await dirty.wait()
        dirty.clear()
        with open(path + ".tmp", "w") as f:
            json.dump(counts, f)
        os.replace(path + ".tmp", path)
        await asyncio.sleep(0.1)


async def main(path, specs):
    servers = []
    for spec in specs:
        listen, target, *name = spec.split(":")
        name = name[0] if name else target
        counts[name] = {"round_trips": 0, "http_requests": 0, "operations": {}}
        servers.append(await asyncio.start_server(relay(int(target), counts[name]), "127.0.0.1", int(listen)))
    dirty.set()
    print(f"counting: {', '.join(specs)} -> {path}", flush=True)
    await write_totals(path)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
