"""Compile-path figures (DESIGN §9). Run by hand: `python bench/bench_compile.py`.

Synthetic engines are written beside copies of the project's companion specs: each has
8 capabilities over dictionary fields, so 37 engines give 296 capabilities (the peer figure:
datamodel-code-generator needs ~4 s for 295 models; the target is a quarter of that).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIELDS = [
    "now",
    "tenant_id",
    "correlation_id",
    "turn_id",
    "session_id?",
    "user_id",
    "device_id",
    "request_id",
    "model_id",
    "temperature_bp",
    "max_tokens",
    "idempotency_key",
]


def engine_spec(index: int, capabilities: int) -> str:
    caps = []
    for n in range(capabilities):
        fields = ", ".join(FIELDS[: 6 + n % 6])
        if n % 2:
            output = "tool_response { tool_name, answer_text, provenance { source, retrieved_at } }"
            effects, inp = "NONE", f"({fields})"
        else:
            output, effects, inp = (
                "Result<AuditEventId, StorageError>",
                "DECLARED (DB_WRITE)",
                f"({fields}, reason_code)",
            )
        caps.append(
            f"### `B{index}_CAP_{n}`\n- `name`: Capability {n}\n- `input_schema`: `{inp}`\n"
            f"- `output_schema`: `{output}`\n- `allowed_callers`: `SELENE_OS_ONLY`\n"
            f"- `side_effects`: `{effects}`\n"
        )
    return (
        f"# BENCH.E{index} ECM Spec\n\n## Engine Header\n- `engine_id`: `BENCH.E{index}`\n"
        f"- `purpose`: Synthetic engine {index}.\n- `data_owned`: `audit_events`\n"
        "- `version`: `v1`\n- `status`: `ACTIVE`\n\n## Capability List\n\n"
        + "\n".join(caps)
        + f"\n## Failure Modes + Reason Codes\n- failure: `B{index}_FAIL`\n\n"
        "## Audit Emission Requirements Per Capability\n"
        "- write capabilities emit PH1.J audit events with bounded keys:\n  - `model_id`\n"
    )


def make_project(root: Path, engines: int, capabilities: int) -> None:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.ecmc]\nspecs = "specs"\nout = "generated"\npackage = "bench_ecm"\n'
    )
    for part in ("common", "wiring"):
        shutil.copytree(REPO / "specs" / part, root / "specs" / part)
    shutil.copy(REPO / "specs" / "ecm" / "PH1_J.md", root / "specs" / "PH1_J.md")
    (root / "specs" / "ecm").mkdir()
    for wiring in (root / "specs" / "wiring").glob("*.md"):
        if wiring.name != "PH1_J.md":
            wiring.unlink()
    for index in range(engines):
        (root / "specs" / "ecm" / f"BENCH_E{index}.md").write_text(engine_spec(index, capabilities))


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from ecmc.commands.build import build, compile_project
    from ecmc.commands.check import up_to_date_without_parsing
    from ecmc.config import load_config
    from ecmc.write.writer import render_all

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p296"
        make_project(root, engines=37, capabilities=8)
        config = load_config(root)
        project = compile_project(config)
        caps = sum(len(e.capabilities) for e in project.result.program.engines)
        assert not project.result.has_errors, project.result.diagnostics[:3]
        best, median = timed(lambda: compile_project(config), args.repeat)
        print(
            f"front end, {caps} capabilities in {len(project.inputs)} specs: "
            f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms"
        )
        best, median = timed(lambda: render_all(compile_project(config).planned), args.repeat)
        print(
            f"compile + emit (all files rendered in memory): "
            f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms"
        )

        def cold() -> None:
            shutil.rmtree(root / "generated", ignore_errors=True)
            build(config)

        best, median = timed(cold, args.repeat)
        print(
            f"ecmc build, cold (empty output): best {best * 1000:.0f} ms, "
            f"median {median * 1000:.0f} ms"
        )
        best, median = timed(lambda: build(config), args.repeat)
        print(
            f"ecmc build, nothing changed: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms"
        )

        big = Path(tmp) / "p1000"
        make_project(big, engines=1000, capabilities=1)
        big_config = load_config(big)
        start = time.perf_counter()
        build(big_config)
        print(f"ecmc build, 1000 specs, cold: {time.perf_counter() - start:.1f} s")
        assert up_to_date_without_parsing(big_config)
        best, median = timed(lambda: up_to_date_without_parsing(big_config), args.repeat)
        print(
            f"ecmc check, 1000 specs, nothing changed: best {best * 1000:.0f} ms, "
            f"median {median * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
