"""A benchmark worker: runs the trials the runner asks for, one at a time, and answers.

The runner starts one worker per typedws build (the compiled one installed in the environment,
the pure one put first on ``PYTHONPATH``), so the two builds are measured side by side in one
run although a process can import only one of them. Protocol: one JSON object per line on stdin
(``{"bench": "layer", "op": "trial", "impl": "typedws", "case": "small text"}``), one JSON
answer per line on stdout.
"""

from __future__ import annotations

import json
import sys
import traceback

import bench_checks
import bench_endpoint
import bench_events
import bench_layer
import bench_typed

import typedws

BENCHES = {
    "layer": bench_layer,
    "typed": bench_typed,
    "events": bench_events,
    "checks": bench_checks,
    # Two tables from one module: its dispatch cases and its send cases take different impls.
    "dispatch": bench_endpoint,
    "typed send": bench_endpoint,
}


def main() -> None:
    out = sys.stdout
    out.write(json.dumps({"compiled": typedws.COMPILED, "file": typedws.__file__}) + "\n")
    out.flush()
    for line in sys.stdin:
        command = json.loads(line)
        try:
            module = BENCHES[command["bench"]]
            if command["op"] == "prepare":
                module.prepare(command["impl"], command["case"])
                answer: dict[str, object] = {"ok": True}
            else:
                answer = {"ns": module.trial(command["impl"], command["case"])}
        except Exception:
            answer = {"error": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
