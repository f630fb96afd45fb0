"""Test helper: a loopback TCP proxy that can blackhole its traffic, to partition one etcd member.

Each member's peer URL (what the other members dial) points at its own proxy, which forwards to the
member's real peer port. `cut()` drops every open connection and from then on accepts new ones but
never forwards a byte (a silent partition, as a pulled cable looks: no resets, just nothing); `heal()`
drops the silent connections so the peers reconnect through a working proxy. The proxy runs its own
event loop in a daemon thread, so a synchronous harness can use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class BlackholeProxy:
    """Forwards 127.0.0.1:`listen_port` to 127.0.0.1:`target_port` until cut."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.is_cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="blackhole")

    def start(self) -> BlackholeProxy:
        """Listen (returns once the port is bound)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.is_cut:
                await _drain_silently(reader)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                return
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not self.is_cut and (data := await reader.read(65536)):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _drop_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        """Blackhole: drop open connections; accept new ones but forward nothing."""
        self._loop.call_soon_threadsafe(self._set_cut, True)

    def heal(self) -> None:
        """Forward again (the silent connections are dropped, so peers dial afresh)."""
        self._loop.call_soon_threadsafe(self._set_cut, False)

    def _set_cut(self, cut: bool) -> None:
        self.is_cut = cut
        self._drop_all()

    def close(self) -> None:
        """Stop listening and the thread."""
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            self._drop_all()
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            await asyncio.wait(tasks, timeout=1) if tasks else None  # aborted connections end their pipes

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _drain_silently(reader: asyncio.StreamReader) -> None:
    """Read and discard until the peer gives up (or the proxy drops the connection)."""
    with contextlib.suppress(ConnectionError, OSError):
        while await reader.read(65536):
            pass
