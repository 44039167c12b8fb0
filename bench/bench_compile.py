"""Compile-path figures (DESIGN §9). Run by hand: `python bench/bench_compile.py`.

Synthetic engines are written beside copies of the project's companion specs: each has
8 capabilities over dictionary fields, so 37 engines give 296 capabilities (the peer figure:
datamodel-code-generator needs ~4 s for 295 models; the target is a quarter of that).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
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


TOKENIZE_ONLY = """
import sys
from pathlib import Path
from markdown_it import MarkdownIt
md = MarkdownIt("commonmark")
for path in sorted(Path(sys.argv[1]).rglob("*.md")):
    md.parse(path.read_text(encoding="utf-8"))
"""


def process_seconds(
    command: list[str], cwd: Path, repeat: int, before: Callable[[], object]
) -> float:
    """The median wall time of a whole process, `before` run ahead of each."""
    samples = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def catalog_schemas(root: Path, package: str, out: Path) -> int:
    """The JSON Schema of every capability's input model, as one document of `$defs`: what
    datamodel-code-generator is given to write the same models."""
    script = (
        "import json, sys, importlib\n"
        f"sys.path.insert(0, {str(root / 'generated')!r})\n"
        f"catalog = importlib.import_module('{package}.catalog').CATALOG\n"
        "defs = {}\n"
        "for spec in catalog:\n"
        "    schema = spec.input_model.model_json_schema(by_alias=True)\n"
        "    defs.update(schema.pop('$defs', {}))\n"
        "    defs[spec.id] = schema\n"
        "doc = {'$defs': defs, 'type': 'object', 'properties': "
        "{k: {'$ref': '#/$defs/' + k} for k in defs}}\n"
        f"open({str(out)!r}, 'w').write(json.dumps(doc, indent=1))\n"
        "print(len(catalog))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    return int(done.stdout)


def peers(root: Path, repeat: int) -> None:
    """Whole processes, medians: ecmc build cold against the markdown-it tokenize-only floor
    of the same files and datamodel-code-generator on the same models."""
    ecmc = [sys.executable, "-m", "ecmc", "build"]
    cold = process_seconds(ecmc, root, repeat, lambda: shutil.rmtree(root / "generated", True))
    floor = process_seconds(
        [sys.executable, "-c", TOKENIZE_ONLY, "specs"], root, repeat, lambda: None
    )
    print(
        f"process: ecmc build cold {cold * 1000:.0f} ms; markdown-it tokenize only "
        f"{floor * 1000:.0f} ms; ratio {cold / floor:.2f}x (target <= 1.5x)"
    )
    if shutil.which("datamodel-codegen") is None and not _has("datamodel_code_generator"):
        print("datamodel-code-generator is not installed (pip install -e '.[bench]')")
        return
    models = catalog_schemas(root, "bench_ecm", root / "schemas.json")
    codegen = [
        sys.executable,
        "-m",
        "datamodel_code_generator",
        "--input",
        "schemas.json",
        "--input-file-type",
        "jsonschema",
        "--output",
        "dcg_models.py",
        "--output-model-type",
        "pydantic_v2.BaseModel",
    ]
    theirs = process_seconds(codegen, root, max(1, repeat // 2), lambda: None)
    print(
        f"process: datamodel-code-generator, {models} input models: {theirs * 1000:.0f} ms; "
        f"ecmc is {theirs / cold:.1f}x faster (target >= 4x)"
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peers", action="store_true", help="only the whole-process figures")
    args = parser.parse_args()
    if args.peers:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "p296"
            make_project(root, engines=37, capabilities=8)
            subprocess.run([sys.executable, "-m", "ecmc", "build"], cwd=root, check=True)
            peers(root, args.repeat)
        return

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
