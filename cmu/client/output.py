"""How the CLI prints: one line per event, key/value blocks for headers and accounts, indented JSON for
structured values; `--json` switches every command to machine-readable JSON instead."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from cmu.client.metadata import phase_name, signature


def value_text(value: Any) -> str:
    """A JSON value on one line: strings bare, null as none, structures as compact JSON."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def pretty(value: Any) -> str:
    """A JSON value for a person: scalars bare, structures indented."""
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return value_text(value)


def fields_text(fields: Any) -> str:
    """`name=value name=value` of an event's or call's fields."""
    if isinstance(fields, Mapping):
        return " ".join(f"{k}={value_text(v)}" for k, v in fields.items())
    return value_text(fields)


def event_line(event: Mapping[str, Any], block: Any = None) -> str:
    """One event: [#block] phase  Pallet.Event fields."""
    where = phase_name(event.get("phase"))
    head = f"{f'#{block}':<6} {where:<14}" if block is not None else f"{where:<14}"
    return f"{head} {event.get('pallet')}.{event.get('event')} {fields_text(event.get('fields'))}".rstrip()


def timestamp_text(ms: Any) -> str:
    """Milliseconds since the epoch, with the UTC time beside them."""
    if not isinstance(ms, int) or ms <= 0:
        return str(ms)
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return f"{ms} ({moment.isoformat(timespec='seconds').replace('+00:00', 'Z')})"


def table(rows: Iterable[tuple[str, Any]]) -> str:
    """Aligned `label  value` lines."""
    pairs = [(label, value_text(value)) for label, value in rows]
    width = max((len(label) for label, _ in pairs), default=0)
    return "\n".join(f"{label:<{width}}  {text}" for label, text in pairs)


def block_text(block: Mapping[str, Any]) -> str:
    """A block's header and decoded extrinsics."""
    header = block["header"]
    lines = [
        f"block #{header.get('number')} {header.get('hash', '')}".rstrip(),
        table(
            [
                ("parent", header.get("parentHash")),
                ("state root", header.get("stateRoot")),
                ("extrinsics root", header.get("extrinsicsRoot")),
                ("timestamp", timestamp_text(header.get("timestamp"))),
                ("author", header.get("author")),
            ]
        ),
        f"extrinsics ({len(block['extrinsics'])})",
    ]
    for index, xt in enumerate(block["extrinsics"]):
        lines.append(f"  {index} {xt['hash']} {xt['call']} {fields_text(xt.get('args', {}))}".rstrip())
        if xt.get("signed"):
            lines.append(f"      signed by {xt['signer']} nonce {xt['nonce']} tip {xt['tip']}")
    return "\n".join(lines)


def metadata_text(pallets: Iterable[Mapping[str, Any]], detail: bool) -> str:
    """Pallets and their calls (with argument types); with `detail`, storage, events, errors, constants."""
    lines: list[str] = []
    for pallet in pallets:
        lines.append(
            f"{pallet['name']} (index {pallet['index']})"
            + (f": {pallet['doc']}" if pallet.get("doc") else "")
        )
        for call in pallet.get("calls", []):
            origin = "" if call.get("origin", "signed") == "signed" else f" [{call['origin']}]"
            lines.append(f"  {pallet['name']}.{call['name']}({signature(call)}){origin}")
            if detail and call.get("doc"):
                lines.append(f"      {call['doc']}")
        if detail:
            lines.extend(_pallet_detail(pallet))
    return "\n".join(lines)


def _pallet_detail(pallet: Mapping[str, Any]) -> list[str]:
    lines = ["  storage:"] if pallet.get("storage") else []
    for item in pallet.get("storage", []):
        keys = ", ".join(k["type"] for k in item.get("keys", []))
        shape = f"[{keys}] -> " if keys else ""
        lines.append(f"    {item['name']}: {shape}{item['value']['type']}  {item.get('doc', '')}".rstrip())
    lines += ["  events:"] if pallet.get("events") else []
    for event in pallet.get("events", []):
        fields = ", ".join(f"{f['name']}: {f['type']}" for f in event.get("fields", []))
        lines.append(f"    {event['name']}({fields})  {event.get('doc', '')}".rstrip())
    lines += ["  errors:"] if pallet.get("errors") else []
    lines += [f"    {e['name']}: {e.get('doc', '')}".rstrip() for e in pallet.get("errors", [])]
    lines += ["  constants:"] if pallet.get("constants") else []
    lines += [f"    {c['name']} = {value_text(c['value'])}" for c in pallet.get("constants", [])]
    return lines


class Output:
    """Where a command's results go: people's text or --json."""

    def __init__(self, json_mode: bool, stream: TextIO) -> None:
        self.json_mode = json_mode
        self.stream = stream

    def emit(self, data: Any, text: str | None = None) -> None:
        """Print `data` as JSON in --json mode, else `text` (or `data` made readable)."""
        if self.json_mode:
            print(json.dumps(data), file=self.stream)
        else:
            print(pretty(data) if text is None else text, file=self.stream)
        self.stream.flush()


class ProgressBar:
    """A one-line progress bar on a terminal's stderr (`[#####.....] 2.1/4.0 MiB 52%`), redrawn in place;
    `for_cli` gives None (no bar) when stderr is not a terminal or the output is --json."""

    WIDTH = 30

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self._shown = -1

    @classmethod
    def for_cli(cls, label: str, json_mode: bool, stream: TextIO) -> ProgressBar | None:
        """A bar for a command, or None when nobody would see it."""
        return None if json_mode or not stream.isatty() else cls(label, stream)

    def __call__(self, done: int, total: int) -> None:
        """Show `done` of `total` bytes (redrawn only when the percentage changes)."""
        percent = 100 if total <= 0 else min(100, done * 100 // total)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.WIDTH * percent // 100
        bar = "#" * filled + "." * (self.WIDTH - filled)
        mib = 1024 * 1024
        text = f"\r{self.label} [{bar}] {done / mib:.1f}/{total / mib:.1f} MiB {percent:3d}%"
        self.stream.write(text + ("\n" if percent == 100 else ""))
        self.stream.flush()
