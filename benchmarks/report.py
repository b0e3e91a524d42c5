"""Turn the runner's samples into the Markdown table, the target checks, and the bar chart."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from run import Table

CHART = "ratios.png"
#: The ratios labelled on the chart's log axes.
_RATIO_TICKS = (0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 12)


def _fmt_ns(ns: float) -> str:
    return f"{ns:,.0f}"


def _layer_section(table: Table) -> list[str]:
    lines = [
        "## Layer: echo handler over an in-memory ASGI server",
        "",
        "Median ns per message (one `receive_json` + one `send_json`); ratios to the `bare` and "
        "`thin` floors.",
        "",
        "| implementation | " + " | ".join(table.cases) + " |",
        "|---|" + "---:|" * len(table.cases),
    ]
    for label in table.labels:
        cells = []
        for case in table.cases:
            ns = table.median(case, label)
            bare = table.median(case, "bare")
            thin = table.median(case, "thin")
            cells.append(f"{_fmt_ns(ns)} ({ns / bare:.2f}x bare, {ns / thin:.2f}x thin)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _simple_section(title: str, note: str, table: Table, floor: str | None) -> list[str]:
    lines = [
        title,
        "",
        note,
        "",
        "| implementation | " + " | ".join(table.cases) + " |",
        "|---|" + "---:|" * len(table.cases),
    ]
    for label in table.labels:
        cells = []
        for case in table.cases:
            ns = table.median(case, label)
            cell = _fmt_ns(ns)
            if floor is not None:
                cell += f" ({ns / table.median(case, floor):.2f}x)"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def targets(tables: dict[str, Table], e2e: dict[str, Any] | None) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target of the issue."""
    result: list[tuple[str, str, bool]] = []
    layer = tables["layer"]
    for case in ("small text", "small binary"):
        ratio = layer.median(case, "typedws") / layer.median(case, "thin")
        result.append((f"layer, {case}: typedws <= 1.10x thin", f"{ratio:.2f}x", ratio <= 1.10))
        vs = layer.median(case, "typedws") / layer.median(case, "litestar")
        result.append(
            (
                f"layer, {case}: typedws >= 25% faster than Litestar",
                f"{(1 - vs) * 100:.0f}% faster",
                vs <= 0.75,
            )
        )
    for case in layer.cases:
        ratio = layer.median(case, "typedws") / layer.median(case, "typedws pure")
        result.append(
            (f"layer, {case}: compiled not slower than pure", f"{ratio:.2f}x pure", ratio <= 1.0)
        )
    if "dispatch" in tables:
        dispatch = tables["dispatch"]
        for case in dispatch.cases:
            ratio = dispatch.median(case, "endpoint") / dispatch.median(case, "hand loop")
            result.append((f"{case}: Endpoint <= 1.05x hand loop", f"{ratio:.2f}x", ratio <= 1.05))
    if "typed send" in tables:
        sends = tables["typed send"]
        for case in sends.cases:
            ratio = sends.median(case, "typed send") / sends.median(case, "send_json")
            result.append(
                (f"{case}: TypedWebSocket.send <= 1.03x send_json", f"{ratio:.3f}x", ratio <= 1.03)
            )
    typed = tables["typed"]
    for case in typed.cases:
        ratio = typed.median(case, "typedws") / typed.median(case, "thin typed")
        result.append(
            (f"typed, {case}: typedws <= 1.15x thin typed", f"{ratio:.2f}x", ratio <= 1.15)
        )
        speed = typed.median(case, "starlette+pydantic") / typed.median(case, "typedws")
        result.append(
            (
                f"typed, {case}: >= 3x faster than Starlette+pydantic",
                f"{speed:.1f}x faster",
                speed >= 3.0,
            )
        )
    events = tables["events"]
    for case in events.cases:
        speed = events.median(case, "typedws pure") / events.median(case, "typedws")
        result.append(
            (f"events, {case}: compiled >= 2x faster than pure", f"{speed:.1f}x", speed >= 2.0)
        )
    checks = tables.get("checks")
    if checks is not None:
        # Not a target of the issue (those are the raw rows above): the same events, the
        # synchronous checks called directly, without the coroutine and awaits both builds share.
        for case in checks.cases:
            speed = checks.median(case, "typedws pure") / checks.median(case, "typedws")
            result.append(
                (
                    f"(info) event checks only, {case}: compiled >= 2x faster than pure",
                    f"{speed:.1f}x",
                    speed >= 2.0,
                )
            )
    if e2e is not None:
        rate = e2e["rate"]
        result.append(
            (
                "e2e: typedws >= Starlette msg/s",
                f"{rate['typedws'] / rate['starlette']:.2f}x",
                rate["typedws"] >= rate["starlette"],
            )
        )
        paired = e2e["ratio_to_raw"]["typedws"]
        result.append(
            (
                "e2e: typedws >= 0.95x raw ASGI echo (median of per-round ratios)",
                f"{paired:.2f}x",
                paired >= 0.95,
            )
        )
    return result


def chart(path: Path, tables: dict[str, Table]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    layer, typed = tables["layer"], tables["typed"]
    fig, (ax1, ax2) = plt.subplots(
        1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 1.3]}, constrained_layout=True
    )
    labels = [label for label in layer.labels if label != "thin"]
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        values = [layer.median(c, label) / layer.median(c, "thin") for c in layer.cases]
        xs = [x + (i - (len(labels) - 1) / 2) * width for x in range(len(layer.cases))]
        bars = ax1.bar(xs, values, width, label=label)
        ax1.bar_label(bars, fmt="%.2f", fontsize=7, rotation=90, padding=2)
    ax1.axhline(1.0, color="black", linewidth=0.8)
    ax1.axhline(1.10, color="red", linewidth=0.8, linestyle="--", label="target 1.10x thin")
    ax1.set_xticks(range(len(layer.cases)), layer.cases)
    ax1.set_yscale("log")
    ax1.set_ylabel("time per message / thin (log scale)")
    ax1.set_title("Echo layer: ratio to the `thin` floor (lower is better)")
    ax1.legend(fontsize=8, ncol=2)
    labels = [label for label in typed.labels if label != "thin typed"]
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        values = [typed.median(c, label) / typed.median(c, "thin typed") for c in typed.cases]
        xs = [x + (i - (len(labels) - 1) / 2) * width for x in range(len(typed.cases))]
        bars = ax2.bar(xs, values, width, label=label)
        ax2.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    ax2.axhline(1.0, color="black", linewidth=0.8)
    ax2.axhline(1.15, color="red", linewidth=0.8, linestyle="--", label="target 1.15x")
    ax2.set_xticks(range(len(typed.cases)), typed.cases)
    ax2.set_yscale("log")
    ax2.set_title("Typed decode: ratio to thin typed msgspec")
    ax2.legend(fontsize=8, loc="upper left")  # the typedws bars are short: free space
    for axis in (ax1, ax2):
        # Room above the tallest bar's label for the legend; plain ratios on the log axis.
        bottom, top = axis.get_ylim()
        axis.set_ylim(bottom, top * 1.5)
        axis.set_yticks([t for t in _RATIO_TICKS if bottom <= t <= top * 1.5])
        axis.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        axis.yaxis.set_minor_formatter(NullFormatter())
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: Sections of RESULTS.md that no benchmark run writes (measured by hand, with callgrind): a new
#: run keeps them as they are.
KEPT_SECTIONS = ("## Build tuning",)


def _kept_sections(path: Path) -> list[str]:
    """The lines of the existing RESULTS.md's hand-measured sections, each up to the next
    ``## `` heading."""
    if not path.exists():
        return []
    kept: list[str] = []
    keeping = False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            keeping = line.startswith(KEPT_SECTIONS)
        if keeping:
            kept.append(line)
    return [*kept, ""] if kept else []


def write_outputs(
    out: Path,
    machine: list[str],
    table_list: list[Table],
    e2e: dict[str, Any] | None,
    args: argparse.Namespace,
    elapsed: float,
) -> str:
    tables = {table.bench: table for table in table_list}
    lines = [
        "# typedws benchmarks",
        "",
        "Written by `nox -s bench` (`benchmarks/run.py`); the figures below are from one real "
        "run. All implementations of a benchmark ran in the same run, interleaved round by round "
        f"in alternating order; medians over {args.rounds} rounds.",
        "",
        *machine,
        f"- Run time: {elapsed:.0f} s",
        "",
    ]
    lines += [*_layer_section(tables["layer"]), ""]
    lines += [
        *_simple_section(
            "## Typed decode: `receive_json(type=Chat)`",
            "Median ns per message received into a `Chat` (~200 B); ratio to `thin typed` (a thin "
            "async wrapper around a cached `msgspec.json.Decoder(Chat)`).",
            tables["typed"],
            "thin typed",
        ),
        "",
    ]
    if "dispatch" in tables:
        lines += [
            *_simple_section(
                "## Endpoint dispatch: `Endpoint` vs a hand-written `iter_json` + `match` loop",
                "A chat protocol (3 inbound kinds, tagged union; 2 outbound). Per ~200 B chat "
                "line: receive, decode to the union, call the handler, send its reply (typed "
                "send for the endpoint, `send_json` for the hand loop). Median ns per message; "
                "ratio to `hand loop` (`bench_endpoint.py`).",
                tables["dispatch"],
                "hand loop",
            ),
            "",
        ]
    if "typed send" in tables:
        lines += [
            *_simple_section(
                "## Typed send: `TypedWebSocket.send` vs `WebSocket.send_json`",
                "The same reply (a member of the outbound union) sent on an accepted "
                "connection. Median ns per message; ratio to `send_json`.",
                tables["typed send"],
                "send_json",
            ),
            "",
        ]
    lines += [
        *_simple_section(
            "## Event validation alone: raw `ws.receive()` / `ws.send()`",
            "Median ns per validated event; ratio to the pure build.",
            tables["events"],
            "typedws pure",
        ),
        "",
    ]
    if "checks" in tables:
        lines += [
            *_simple_section(
                "## Event validation, checks only: the synchronous checks called directly",
                "The same events as above, handed straight to the methods `receive()` and "
                "`send()` run around their await (`_server_event`, `_raw_message`): no coroutine "
                "call, no await of the server, which cost about the same in both builds (see "
                "`bench_checks.py`). Median ns per event; ratio to the pure build.",
                tables["checks"],
                "typedws pure",
            ),
            "",
        ]
    if e2e is not None:
        lines += [
            "## End to end: uvicorn, 50 concurrent `websockets` clients",
            "",
            f"uvicorn `{e2e['uvicorn_args']}` for every app; chat echo (~200 B text frames), "
            f"{e2e['window']} messages in flight per client; {e2e['rounds']} rounds of "
            f"{e2e['seconds']} s, order alternating; medians. Server CPU per message is read "
            "from /proc.",
            "",
            "| app | messages/s | ratio to raw (per round, median) | server CPU µs/message |",
            "|---|---:|---:|---:|",
        ]
        for app in ("raw", "starlette", "typedws"):
            rate = e2e["rate"][app]
            lines.append(
                f"| {app} | {rate:,.0f} | {e2e['ratio_to_raw'][app]:.2f} | "
                f"{e2e['cpu_us'][app]:.1f} |"
            )
        lines.append("")
    lines += ["## Targets", "", "| target | measured | met |", "|---|---:|:---:|"]
    for name, measured, met in targets(tables, e2e):
        lines.append(f"| {name} | {measured} | {'yes' if met else '**no**'} |")
    lines += ["", f"![ratios to the floors]({CHART})", ""]
    lines += _kept_sections(out / "RESULTS.md")
    text = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text(text)
    chart(out / CHART, tables)
    return text
