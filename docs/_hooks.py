"""MkDocs hooks for the typedws site (mkdocs.yml ``hooks:``).

Pages that already live elsewhere in the repository are pulled in at build time rather than
copied, so the site cannot drift from them:

* ``benchmarks.md`` is benchmarks/RESULTS.md (written by ``nox -s bench``), with its chart
  ``ratios.png`` beside it;
* ``<!-- include-file: NAME LANG -->`` in a page is replaced by the file docs/NAME in a code
  block (the AsyncAPI document of the demo, which its own test keeps up to date);
* a link from a page to one of those files (``../benchmarks/RESULTS.md``, as docs/*.md write
  it to be read on GitHub too) is pointed at the page the site makes of it;
* ``assets/state-machine.svg`` is drawn from the transition tables of src/typedws/_state.py
  (``APP_TRANSITIONS`` and ``CLIENT_TRANSITIONS``): a state or move added there shows up in the
  diagram, and a state the layout below does not place fails the build.
"""

from __future__ import annotations

import importlib.util
import os.path
import re
from html import escape
from pathlib import Path
from types import ModuleType
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CHART = ROOT / "benchmarks" / "ratios.png"
STATE = ROOT / "src" / "typedws" / "_state.py"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages and assets to the site."""
    files.append(
        File.generated(config, "benchmarks.md", content=RESULTS.read_text(encoding="utf-8"))
    )
    files.append(File.generated(config, "ratios.png", abs_src_path=str(CHART)))
    files.append(File.generated(config, "assets/state-machine.svg", content=state_diagram()))
    return files


#: Repository files outside docs/ that the site publishes, and where (a site path).
_PUBLISHED = {RESULTS: "benchmarks.md", CHART: "ratios.png"}
_LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?P<rest>[^)]*)\)")


_INCLUDE = re.compile(r"^<!-- include-file: (?P<name>[\w./-]+) (?P<lang>\w+) -->$", re.M)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Include the files a page asks for; point links to published repository files at their
    place in the site."""
    if page.file.abs_src_path is None:
        return markdown

    def include(match: re.Match[str]) -> str:
        text = (Path(config.docs_dir) / match["name"]).read_text(encoding="utf-8")
        return f"```{match['lang']}\n{text.rstrip()}\n```"

    markdown = _INCLUDE.sub(include, markdown)
    here = Path(page.file.abs_src_path).parent

    def relink(match: re.Match[str]) -> str:
        target = match["target"]
        if "://" in target:
            return match[0]
        published = _PUBLISHED.get((here / target).resolve())
        if published is None:
            return match[0]
        start = os.path.dirname(page.file.src_uri) or "."
        return f"]({os.path.relpath(published, start)}{match['rest']})"

    return _LINK.sub(relink, markdown)


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """``mkdocs serve`` rebuilds when a pulled-in file changes, as for a page in docs/."""
    for path in (RESULTS, CHART, STATE):
        server.watch(str(path))
    return server


# --- the state diagram -------------------------------------------------------------------------


def _load_state() -> ModuleType:
    # Loaded from its file, not imported from the installed package: the site documents this
    # tree, whichever typedws (if any) is installed. _state.py needs nothing but the stdlib.
    spec = importlib.util.spec_from_file_location("_typedws_state_for_docs", STATE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Where each internal state sits, in grid cells (column, row), per side.
_CLIENT_LAYOUT: dict[str, tuple[float, int]] = {
    "CONNECTING": (0.5, 0),
    "CONNECTED": (0.5, 1),
    "GONE": (2, 1),
    "DISCONNECTED": (0.5, 2),
}
_APP_LAYOUT: dict[str, tuple[float, int]] = {
    "CONNECTING": (1.5, 0),
    "CONNECTED": (0.5, 1),
    "RESPONSE": (2.5, 1),
    "DISCONNECTED": (0, 2),
    "LOST": (1, 2),
    "REJECTED": (2, 2),
}
#: Moves drawn as a curve (bent this many pixels sideways) so they do not cross a box.
_BENDS = {("client", "CONNECTING", "DISCONNECTED"): -90}

_BOX_W, _BOX_H, _CELL_W, _CELL_H, _TOP, _LEFT = 230, 56, 280, 130, 60, 110
#: One panel per side, one above the other (the page is narrower than it is long).
_PANEL_H = _TOP + 3 * _CELL_H


def _short(event: str) -> str:
    if event.startswith("transport lost"):
        return "transport lost"
    if "more_body=True" in event:
        return "http.response.body (more)"
    return event.removeprefix("websocket.")


def state_diagram() -> str:
    """Both sides' state machines as one SVG, drawn from the tables in ``_state.py``."""
    state = _load_state()
    names = {
        value: name
        for name, value in vars(state).items()
        if name.isupper()
        and isinstance(value, int)
        and not isinstance(value, bool)
        and name in {*_CLIENT_LAYOUT, *_APP_LAYOUT}
    }
    public = {number: member.name for number, member in enumerate(state.STATES)}
    parts: list[str] = []
    columns = max(c for c, _ in (*_CLIENT_LAYOUT.values(), *_APP_LAYOUT.values())) + 1
    width = round(_LEFT + columns * _CELL_W)
    height = 2 * _PANEL_H
    sides = (
        (
            "client",
            "Client side: what the server delivers (receive)",
            0,
            _CLIENT_LAYOUT,
            state.CLIENT_TRANSITIONS,
        ),
        (
            "application",
            "Application side: what the application sends (send)",
            _PANEL_H,
            _APP_LAYOUT,
            state.APP_TRANSITIONS,
        ),
    )
    x0 = _LEFT
    for side, title, y0, layout, table in sides:
        parts.append(f'<text x="10" y="{y0 + 28}" class="title">{escape(title)}</text>')
        centres: dict[str, tuple[float, float]] = {}
        for number in table:
            name = names[number]
            if name not in layout:
                raise ValueError(f"docs/_hooks.py: place the {side} state {name} in the layout")
            col, row = layout[name]
            centres[name] = (
                x0 + col * _CELL_W + _CELL_W / 2,
                y0 + _TOP + row * _CELL_H + _BOX_H / 2,
            )
        loops: dict[str, list[str]] = {}
        edges: dict[tuple[str, str], list[str]] = {}
        for number, moves in table.items():
            for event, target in moves.items():
                source, dest = names[number], names[target]
                if source == dest:
                    loops.setdefault(source, []).append(_short(event))
                else:
                    edges.setdefault((source, dest), []).append(_short(event))
        for (source, dest), events in edges.items():
            parts.append(_edge(side, source, dest, events, centres))
        for name, (cx, cy) in centres.items():
            number = next(n for n, nm in names.items() if nm == name)
            subtitle = "" if public[number] == name else f"public: {public[number]}"
            parts.append(_box(name, subtitle, loops.get(name, []), cx, cy))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="sans-serif" font-size="13">\n'
        "<title>typedws connection states: client side and application side</title>\n"
        "<style>.title{font-weight:bold;font-size:14px} .box{fill:#eef;stroke:#336}"
        " .name{font-weight:bold} .edge{fill:none;stroke:#336;marker-end:url(#arrow)}"
        " .label{fill:#223} .loop{fill:#555;font-size:12px}</style>\n"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#336"/></marker>'
        "</defs>\n" + "\n".join(parts) + "\n</svg>\n"
    )


def _box(name: str, subtitle: str, loops: list[str], cx: float, cy: float) -> str:
    x, y = cx - _BOX_W / 2, cy - _BOX_H / 2
    lines = [
        f"<g><title>{escape(name)}</title>"
        f'<rect class="box" x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="8"/>',
        f'<text class="name" x="{cx}" y="{y + 18}" text-anchor="middle">{escape(name)}</text>',
    ]
    if subtitle:
        lines.append(f'<text x="{cx}" y="{y + 33}" text-anchor="middle">{escape(subtitle)}</text>')
    if loops:
        text = "stays on: " + ", ".join(loops)
        lines.append(
            f'<text class="loop" x="{cx}" y="{y + 48}" text-anchor="middle">{escape(text)}</text>'
        )
    lines.append("</g>")
    return "".join(lines)


def _edge(
    side: str,
    source: str,
    dest: str,
    events: list[str],
    centres: dict[str, tuple[float, float]],
) -> str:
    (x1, y1), (x2, y2) = centres[source], centres[dest]
    # Leave and enter each box at its border: top/bottom for vertical moves, sides otherwise.
    half_w, half_h = _BOX_W / 2, _BOX_H / 2
    if abs(x2 - x1) < 1:
        y1, y2 = (y1 + half_h, y2 - half_h) if y2 > y1 else (y1 - half_h, y2 + half_h)
    elif abs(y2 - y1) < 1:
        x1, x2 = (x1 + half_w, x2 - half_w) if x2 > x1 else (x1 - half_w, x2 + half_w)
    else:
        y1 += _BOX_H / 2 if y2 > y1 else -_BOX_H / 2
        y2 -= _BOX_H / 2 if y2 > y1 else -_BOX_H / 2
    bend = _BENDS.get((side, source, dest), 0)
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    anchor = "start"
    if bend:
        # Out of the left side of one box, round the boxes between, into the left of the other.
        left = centres[source][0] - _BOX_W / 2
        control = left + 2 * bend
        path = f"M{left},{centres[source][1]} Q{control},{my} {left},{centres[dest][1]}"
        lx, ly = (left + control) / 2 + 4, my
    else:
        path = f"M{x1},{y1} L{x2},{y2}"
        lx, ly = mx + 6, my - 4
        if abs(y2 - y1) < 1:  # a horizontal move: the label sits above the line, centred
            lx, ly, anchor = mx, my - 6, "middle"
        elif abs(x2 - x1) < abs(y2 - y1):  # a steep move: the label on its left
            lx, anchor = mx - 6, "end"
    label = " / ".join(events)
    # One line per event, so that a label stays beside its own line.
    lines = "".join(
        f'<tspan x="{lx}" dy="{0 if n == 0 else 15}">{escape(event)}{" /" * (n < len(events) - 1)}'
        "</tspan>"
        for n, event in enumerate(events)
    )
    return (
        f"<g><title>{escape(source)} to {escape(dest)}: {escape(label)}</title>"
        f'<path class="edge" d="{path}"/>'
        f'<text class="label" x="{lx}" y="{ly}" text-anchor="{anchor}">{lines}</text></g>'
    )
