"""Before and after: both benchmark tools on an old and a new checkout, alternating, then one table.

The tools are this checkout's ``tools/bench_transforms.py`` and ``tools/bench_pipeline.py``;
only the ``detaug`` they import changes, through ``PYTHONPATH``. Each round runs every
tool once on each checkout, the order swapping from round to round (before, after; then
after, before), so that a drift in the machine's load falls on both. Every run's JSON and
printed text go to ``--out``; the summary (median over rounds of each run's figure, with
the range over rounds) to ``<out>/before_after.json`` and ``.md``.

Usage::

    python benchmarks/before_after.py --before ../before --after . --rounds 5 \\
        --images ../shared/realdata/VOCdevkit/REAL
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any, Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(HERE), "tools")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Both benchmark tools on two checkouts, alternating")
    parser.add_argument("--before", required=True, help="checkout whose detaug/ is the old core")
    parser.add_argument("--after", required=True, help="checkout whose detaug/ is the new core")
    parser.add_argument("--rounds", type=int, default=5, help="runs of every tool on each checkout (default 5)")
    parser.add_argument("--images", default=None, help="a VOC-layout folder for a third job: the pipeline on real photos")
    parser.add_argument("--out", default=HERE, help="folder of the results (default: this one)")
    parser.add_argument("--summarise-only", action="store_true", help="do not run: summarise the runs in --out")
    return parser


def jobs(args: argparse.Namespace) -> Dict[str, List[str]]:
    out = {"transforms": ["bench_transforms.py", "--repeats", "15"],
           "pipeline-generated": ["bench_pipeline.py", "--bursts", "15"]}
    if args.images:
        out["pipeline-real"] = ["bench_pipeline.py", "--bursts", "15", "--images", args.images]
    return out


def run_all(args: argparse.Namespace) -> None:
    raw = os.path.join(args.out, "raw")
    os.makedirs(raw, exist_ok=True)
    checkouts = {"before": os.path.abspath(args.before), "after": os.path.abspath(args.after)}
    for r in range(args.rounds):
        for job, (script, *options) in jobs(args).items():
            for label in (("before", "after") if r % 2 == 0 else ("after", "before")):
                stem = os.path.join(raw, f"{job}-{label}-{r}")
                env = dict(os.environ, PYTHONPATH=checkouts[label], PYTHONWARNINGS="ignore")
                command = [sys.executable, os.path.join(TOOLS, script), *options, "--json", stem + ".json"]
                print(f"round {r + 1}/{args.rounds}: {job} {label}", file=sys.stderr, flush=True)
                proc = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                with open(stem + ".txt", "w") as f:
                    f.write(proc.stdout)


def transforms_figures(result: Dict[str, Any]) -> Dict[str, float]:
    figures = {}
    for c in result["cases"]:
        figures[f"{c['group']}: {c['name']} (us)"] = c["median"]
        if "added" in c:
            figures[f"{c['group']}: {c['name']}, added (us)"] = c["added"]["median"]
    for r in result["ratios"]:
        if r["median"] is not None:
            figures[f"{r['group']}: {r['label']}"] = r["median"]
    return figures


def pipeline_figures(result: Dict[str, Any]) -> Dict[str, float]:
    s = result["shares"]
    figures = {"off, flip only (ms)": s["off"]["ms"]["median"]}
    for name in ("detaug", "albumentations"):
        figures[f"{name} (ms)"] = s[name]["ms"]["median"]
        figures[f"{name}: erasing adds (ms)"] = s[name]["added_ms"]["median"]
        figures[f"{name}: erasing's share (%)"] = 100 * s[name]["share"]["median"]
    figures["detaug's share minus albumentations' (points)"] = 100 * s["share_difference"]["median"]
    if "added_ratio" in s and s["added_ratio"].get("n"):
        figures["detaug's added time / albumentations'"] = s["added_ratio"]["median"]
    if "floor_ratio" in s:
        figures["floor: copy + random bytes of the erased pixels (ms)"] = s["floor"]["ms"]["median"]
        figures["detaug's added time / floor"] = s["floor_ratio"]["median"]
    if "noop" in s:  # informational: what one more transform costs before any work, and the rest
        figures["one more transform (A.NoOp): adds (ms)"] = s["noop"]["added_ms"]["median"]
        figures["detaug's own time (added minus A.NoOp's) / A.Erasing's own"] = s["own_ratio"]["median"]
        if "own_floor_ratio" in s:
            figures["detaug's own time / floor"] = s["own_floor_ratio"]["median"]
    return figures


#: Targets judged on the summary: figure -> (limit, what the limit means).
TARGETS = {
    "a: detaug's added cost / A.Erasing's": (0.45, "<= 0.45"),
    "detaug's added time / albumentations'": (0.6, "<= 0.6"),
    "detaug's added time / floor": (3.0, "<= 3"),
    "d: detaug.tv IRE / v2.RandomErasing(p=1), like for like": (1.5, "<= 1.5"),
    "c-cpu: plans of the batch, I+ORE 5 boxes (per batch) (us)": (200.0, "<= 200 us"),
    "c-cuda: erase_batch I+ORE 5 boxes / timm IRE, random normal": (1.0, "<= 1"),
}


def summarise(out: str) -> Dict[str, Any]:
    """Per job and figure: before and after as the median over rounds, with the range over rounds."""
    raw = os.path.join(out, "raw")
    summary: Dict[str, Any] = {"jobs": {}, "load_average": [], "detaug": {}}
    for name in sorted(os.listdir(raw)):
        if not name.endswith(".json"):
            continue
        job, label, _ = name[:-5].rsplit("-", 2)
        with open(os.path.join(raw, name)) as f:
            result = json.load(f)
        extract: Callable = transforms_figures if job == "transforms" else pipeline_figures
        for figure, value in extract(result).items():
            summary["jobs"].setdefault(job, {}).setdefault(figure, {"before": [], "after": []})[label].append(value)
        summary["load_average"] += [result["machine"]["load_before"][0], result["machine"]["load_after"][0]]
        summary["detaug"][label] = result["detaug"]
        if job.startswith("pipeline"):
            summary.setdefault("data", {})[job] = result["data"]
    return summary


def _cell(values: List[float]) -> Tuple[str, float]:
    median = statistics.median(values)
    spread = f" ({min(values):.3g} to {max(values):.3g})" if len(values) > 1 else ""
    return f"{median:.3g}{spread}", median


def to_markdown(summary: Dict[str, Any]) -> str:
    loads = summary["load_average"]
    lines = [f"before: detaug from {summary['detaug'].get('before')}; after: {summary['detaug'].get('after')}",
             f"load average (1 min) at the start and end of the runs: {min(loads):.1f} to {max(loads):.1f}", ""]
    for job, figures in summary["jobs"].items():
        runs = len(next(iter(figures.values()))["after"])
        lines += [f"### {job} ({runs} runs each, median over runs, range over runs in parentheses)", "",
                  "| figure | before | after | target | before met | after met |", "|---|---:|---:|---|---|---|"]
        for figure, values in figures.items():
            (before, b), (after, a) = _cell(values["before"]), _cell(values["after"])
            limit, text = TARGETS.get(figure, (None, ""))
            met = ("", "") if limit is None else tuple("yes" if v <= limit else "no" for v in (b, a))
            lines.append(f"| {figure} | {before} | {after} | {text} | {met[0]} | {met[1]} |")
        lines.append("")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    if not args.summarise_only:
        run_all(args)
    summary = summarise(args.out)
    text = to_markdown(summary)
    with open(os.path.join(args.out, "before_after.json"), "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(args.out, "before_after.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
