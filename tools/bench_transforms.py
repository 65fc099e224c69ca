"""Time per image of detaug's erasing next to what users would use instead.

Four comparisons on VOC-like 375x500 images with 5 boxes (a pool of 16, cycled through):

a. inside ``A.Compose`` with ``BboxParams``: detaug I+ORE erasing the image and every box
   (``image_p = object_p = 1``, constant fill) against albumentations ``Erasing(p=1)``
   (one region). What counts is the cost each ADDS to the pipeline: its time minus that
   of ``A.Compose([NoOp])`` with the same ``BboxParams``. Target (issue 21): detaug's
   added cost at most 0.45x ``A.Erasing``'s.
b. the core alone on the images and boxes of (a): ``sample_plan``, and ``apply_plan``
   against a plain copy of the image, constant and random fill (informational: a kernel
   has to copy the image).
c. the batched path (``erase_batch``) on a batch of 8 float32 800x1216 images: IRE with
   timm's defaults against timm's ``RandomErasing`` on the same batch (it loops over the
   images) and kornia's, and I+ORE (paper defaults, 5 boxes per image) beside them; on the
   CPU also the time to draw the batch's plans (target: at most 0.2 ms per batch) and the
   host side of a whole call (the same plans on 8 tiny 24x16 images, whose pixels cost
   next to nothing: what a GPU batch pays on the host before its kernels run, against
   timm's on the same tiny batch; informational); on CUDA when a GPU is present (target:
   I+ORE no slower than timm).
d. the torchvision-v2 front-end against ``v2.RandomErasing``: like for like, IRE with one
   region erased on every call against ``v2.RandomErasing(p=1)``, constant fill (target:
   at most 1.5x), and the paper's I+ORE beside it (informational: more work).

Times are the process's CPU time (wall time for CUDA cases): on a shared machine the wall
clock also counts the time slices other processes get. The cases run round-robin
(repeat 1 of every case, then repeat 2, ...), so that what load remains (caches, memory
bandwidth) spreads over all of them. A ratio is taken within each repeat (paired) and
the median over repeats is reported, with its quartiles when there are at least
``MIN_REPEATS_FOR_RANGE`` repeats. Only public API that old and new cores share is used,
so the same script times either (put its folder first on ``PYTHONPATH``).

Usage::

    python tools/bench_transforms.py --repeats 15 --json benchmarks/transforms.json
    python tools/bench_transforms.py --quick            # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

HEIGHT, WIDTH, BOXES, POOL = 375, 500, 5, 16
BATCH_HEIGHT, BATCH_WIDTH = 800, 1216
TINY_HEIGHT, TINY_WIDTH = 16, 24
MIN_REPEATS_FOR_RANGE = 5
ALBU_TARGET = 0.45


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Time detaug's erasing next to other libraries", add_help=add_help)
    parser.add_argument("--repeats", type=int, default=15, help="timed repeats of every case (default 15)")
    parser.add_argument("--target-ms", type=float, default=25.0, help="duration of one repeat of one case (default 25 ms)")
    parser.add_argument("--batch-size", type=int, default=8, help="batch size of the batched cases (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenCV threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image and box pool (default 0)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 repeats of 3 ms")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    return parser


@dataclass
class Case:
    """One timed callable: ``fn(i)`` handles pool item ``i`` (``per_call`` images)."""

    group: str
    name: str
    fn: Callable[[int], Any]
    per_call: int = 1
    floor: Optional[str] = None  # a case of the same group whose time this one's added cost is measured from
    clock: Callable[[], float] = time.process_time  # CPU time; wall time for CUDA, whose work is not the process's
    number: int = 1
    times_us: List[float] = field(default_factory=list)


@dataclass
class Ratio:
    """``(num - floor) / (den - floor)`` per repeat (``floor`` None: ``num / den``), against ``limit`` if given."""

    group: str
    label: str
    num: str
    den: str
    floor: Optional[str] = None
    limit: Optional[float] = None


def make_pool(seed: int) -> List[Dict[str, Any]]:
    """POOL random uint8 HWC images, their float32 CHW copies, BOXES boxes each (10-60 % of each side)."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    pool = []
    for _ in range(POOL):
        image = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        size = rng.uniform(0.1, 0.6, (BOXES, 2)) * (WIDTH, HEIGHT)
        corner = rng.uniform(0, 1, (BOXES, 2)) * ((WIDTH, HEIGHT) - size)
        boxes = np.hstack([corner, corner + size])
        chw = torch.from_numpy(image).permute(2, 0, 1).float().div(255).contiguous()
        pool.append({"image": image, "boxes": boxes, "labels": list(range(BOXES)), "chw": chw})
    return pool


def albumentations_cases(pool: List[Dict[str, Any]]) -> List[Case]:
    import albumentations as A

    import detaug

    bbox = A.BboxParams(format="pascal_voc", label_fields=["labels"])
    steps = {
        "A.Compose+NoOp (floor)": A.NoOp(p=1.0),
        "detaug I+ORE, image and every box": detaug.BoxAwareRandomErasing(mode="i+ore", image_p=1.0, object_p=1.0, fill=0),
        "A.Erasing p=1, one region": A.Erasing(p=1.0, fill=0),
    }
    cases = []
    for name, step in steps.items():
        t = A.Compose([step], bbox_params=bbox, seed=0)
        floor = None if isinstance(step, A.NoOp) else "A.Compose+NoOp (floor)"
        cases.append(Case("a", name, lambda i, t=t: t(image=pool[i]["image"], bboxes=pool[i]["boxes"], labels=pool[i]["labels"]),
                          floor=floor))
    return cases


def core_cases(pool: List[Dict[str, Any]]) -> List[Case]:
    """The two halves of (a) outside albumentations: drawing the plan, and applying it beside a copy."""
    import numpy as np

    from detaug.erasing import ErasingParams, apply_plan, sample_plan

    rng = np.random.default_rng(0)
    always = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0)
    cases = [Case("b", "sample_plan I+ORE", lambda i: sample_plan(pool[i]["image"].shape, pool[i]["boxes"], always, rng)),
             Case("b", "copy", lambda i: pool[i]["image"].copy())]
    for fill in (0, "random"):
        params = ErasingParams(mode="i+ore", image_p=1.0, object_p=1.0, fill=fill)
        plans = [sample_plan(x["image"].shape, x["boxes"], params, k) for k, x in enumerate(pool)]
        cases.append(Case("b", f"apply_plan I+ORE, fill {fill}", lambda i, q=plans: apply_plan(pool[i]["image"], q[i])))
    return cases


def batched_cases(pool: List[Dict[str, Any]], batch_size: int, device: str) -> List[Case]:
    import numpy as np
    import torch

    from detaug.erasing import ErasingParams, erase_batch, sample_plan

    batch = torch.rand(batch_size, 3, BATCH_HEIGHT, BATCH_WIDTH, generator=torch.Generator().manual_seed(0)).to(device)
    scale = np.array([BATCH_WIDTH / WIDTH, BATCH_HEIGHT / HEIGHT] * 2)
    boxes = [torch.as_tensor(x["boxes"] * scale, dtype=torch.float32, device=device) for x in pool[:batch_size]]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def case(name: str, fn: Callable[[], Any], per_call: int = batch_size) -> Case:
        clock = time.perf_counter if device == "cuda" else time.process_time
        return Case(f"c-{device}", name, lambda i: (fn(), sync()), per_call=per_call, clock=clock)

    # timm's defaults, like for like: IRE, p = 0.5, scale (0.02, 1/3), log-uniform ratio, 10 attempts.
    like_timm = dict(mode="ire", image_p=0.5, scale=(0.02, 1 / 3), ratio_sampling="log", max_attempts=10)
    generator = torch.Generator(device=device).manual_seed(0)
    try:
        from timm.data.random_erasing import RandomErasing
    except ImportError:
        RandomErasing = None
        print("timm is not installed: its cases are skipped", file=sys.stderr)
    cases = []
    for fill, timm_mode in ((0.0, "const"), ("random_normal", "pixel")):
        params = ErasingParams(fill=fill, **like_timm)
        cases.append(case(f"erase_batch IRE, fill {fill}", lambda q=params: erase_batch(batch, None, q, generator=generator)))
        paper = ErasingParams(mode="i+ore", fill=fill)
        cases.append(case(f"erase_batch I+ORE 5 boxes, fill {fill}",
                          lambda q=paper: erase_batch(batch, boxes, q, generator=generator)))
        if RandomErasing is not None:  # in place, so it erases a clone, as erase_batch does
            timm = RandomErasing(probability=0.5, mode=timm_mode, device=device)
            cases.append(case(f"timm RandomErasing, mode {timm_mode}", lambda t=timm: t(batch.clone())))
    try:
        import kornia.augmentation as K

        kornia = K.RandomErasing(scale=(0.02, 1 / 3), ratio=(0.3, 1 / 0.3), value=0.0, p=0.5).to(device)
        cases.append(case("kornia RandomErasing, value 0", lambda: kornia(batch)))
    except ImportError:
        print("kornia is not installed: its case is skipped", file=sys.stderr)
    if device == "cpu":  # the host side of the batched path: the batch's plans (the old core: one call per image)
        from detaug.erasing import sampling

        paper, rng = ErasingParams(mode="i+ore"), np.random.default_rng(0)
        host = [b.cpu().numpy() for b in boxes]
        sizes = [(BATCH_HEIGHT, BATCH_WIDTH)] * batch_size
        if hasattr(sampling, "sample_plans"):
            draw = lambda: sampling.sample_plans(sizes, host, paper, rng)  # noqa: E731
        else:
            draw = lambda: [sample_plan(s, b, paper, rng) for s, b in zip(sizes, host)]  # noqa: E731
        cases.append(Case("c-cpu", "plans of the batch, I+ORE 5 boxes (per batch)", lambda i: draw()))
        # the host side of a whole call: the same plans on 8 tiny images, so that the pixels cost next to nothing
        # and what is left is what a GPU batch pays on the host before its kernels run (informational)
        tiny = torch.rand(batch_size, 3, TINY_HEIGHT, TINY_WIDTH, generator=torch.Generator().manual_seed(0))
        shrink = np.array([TINY_WIDTH / BATCH_WIDTH, TINY_HEIGHT / BATCH_HEIGHT] * 2, dtype=np.float32)
        tiny_boxes = [b * torch.from_numpy(shrink) for b in boxes]
        normal = ErasingParams(mode="i+ore", fill="random_normal")
        cases.append(Case("c-cpu", f"host side: erase_batch I+ORE 5 boxes, random normal, {TINY_WIDTH}x{TINY_HEIGHT} (per batch)",
                          lambda i: erase_batch(tiny, tiny_boxes, normal, generator=generator)))
        if RandomErasing is not None:
            timm_tiny = RandomErasing(probability=0.5, mode="pixel", device=device)
            cases.append(Case("c-cpu", f"host side: timm RandomErasing, mode pixel, {TINY_WIDTH}x{TINY_HEIGHT} (per batch)",
                              lambda i: timm_tiny(tiny.clone())))
    return cases


def torchvision_cases(pool: List[Dict[str, Any]]) -> List[Case]:
    import torch
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    import detaug.tv

    samples = [(tv_tensors.Image(x["chw"]), {
        "boxes": tv_tensors.BoundingBoxes(torch.as_tensor(x["boxes"], dtype=torch.float32), format="XYXY", canvas_size=(HEIGHT, WIDTH)),
        "labels": torch.arange(BOXES)}) for x in pool]
    one_region = detaug.tv.BoxAwareRandomErasing(mode="ire", image_p=1.0, fill=0.0)
    always = v2.RandomErasing(p=1.0, value=0.0)
    cases = [Case("d", "detaug.tv IRE, one region, fill 0.0", lambda i: one_region(*samples[i])),
             Case("d", "v2.RandomErasing p=1, value 0.0", lambda i: always(samples[i][0]))]
    for fill, value in ((0.0, 0.0), ("random", "random")):
        ours = detaug.tv.BoxAwareRandomErasing(mode="i+ore", fill=fill)
        cases.append(Case("d", f"detaug.tv I+ORE, fill {fill}", lambda i, t=ours: t(*samples[i])))
        theirs = v2.RandomErasing(p=0.5, value=value)
        cases.append(Case("d", f"v2.RandomErasing, value {value}", lambda i, t=theirs: t(samples[i][0])))
    return cases


RATIOS = [
    Ratio("a", "detaug's added cost / A.Erasing's", "detaug I+ORE, image and every box", "A.Erasing p=1, one region",
          floor="A.Compose+NoOp (floor)", limit=ALBU_TARGET),
    Ratio("b", "constant fill / copy", "apply_plan I+ORE, fill 0", "copy"),
    Ratio("b", "random fill / copy", "apply_plan I+ORE, fill random", "copy"),
    Ratio("d", "detaug.tv IRE / v2.RandomErasing(p=1), like for like", "detaug.tv IRE, one region, fill 0.0",
          "v2.RandomErasing p=1, value 0.0", limit=1.5),
    Ratio("d", "detaug.tv / v2.RandomErasing, constant", "detaug.tv I+ORE, fill 0.0", "v2.RandomErasing, value 0.0"),
    Ratio("d", "detaug.tv / v2.RandomErasing, random", "detaug.tv I+ORE, fill random", "v2.RandomErasing, value random"),
] + [
    Ratio(f"c-{device}", label, num, den, limit=1.0 if device == "cuda" and "I+ORE" in label else None)
    for device in ("cpu", "cuda")
    for label, num, den in (
        ("erase_batch / timm, constant", "erase_batch IRE, fill 0.0", "timm RandomErasing, mode const"),
        ("erase_batch / timm, random normal", "erase_batch IRE, fill random_normal", "timm RandomErasing, mode pixel"),
        ("kornia / timm, constant", "kornia RandomErasing, value 0", "timm RandomErasing, mode const"),
        ("erase_batch I+ORE 5 boxes / timm IRE, constant", "erase_batch I+ORE 5 boxes, fill 0.0",
         "timm RandomErasing, mode const"),
        ("erase_batch I+ORE 5 boxes / timm IRE, random normal", "erase_batch I+ORE 5 boxes, fill random_normal",
         "timm RandomErasing, mode pixel"),
    )
] + [
    Ratio("c-cpu", "host side: erase_batch I+ORE 5 boxes / timm IRE, random normal",
          f"host side: erase_batch I+ORE 5 boxes, random normal, {TINY_WIDTH}x{TINY_HEIGHT} (per batch)",
          f"host side: timm RandomErasing, mode pixel, {TINY_WIDTH}x{TINY_HEIGHT} (per batch)"),
]


def run_round_robin(cases: List[Case], repeats: int, target_s: float) -> None:
    """Calibrate each case's burst to about ``target_s`` (this also warms it up), then time ``repeats`` rounds."""
    for case in cases:
        calls, start = 0, case.clock()
        while case.clock() - start < target_s / 4 and calls < 1000:
            case.fn(calls % POOL)
            calls += 1
        case.number = max(1, int(calls * target_s / max(case.clock() - start, 1e-9)))
    for _ in range(repeats):
        for case in cases:
            start = case.clock()
            for i in range(case.number):
                case.fn(i % POOL)
            case.times_us.append((case.clock() - start) / case.number / case.per_call * 1e6)


def write_json(path: Optional[str], result: Dict[str, Any]) -> None:
    """Write a tool's results to ``path`` (its folder made if needed); nothing when ``path`` is None."""
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(result, f, indent=1)


def spread(values: List[float]) -> Dict[str, Any]:
    """Median of ``values``, and quartiles only when there are enough of them to mean something."""
    out: Dict[str, Any] = {"median": statistics.median(values), "n": len(values)}
    if len(values) >= MIN_REPEATS_FOR_RANGE:
        out["q1"], _, out["q3"] = statistics.quantiles(values, n=4)
    return out


def summarise(case: Case, times: Dict[tuple, List[float]]) -> Dict[str, Any]:
    """A case's times, their spread and, if it has a floor, its added cost (paired within each repeat)."""
    out = {"group": case.group, "name": case.name, "per_call": case.per_call, "times_us": case.times_us, **spread(case.times_us)}
    if case.floor:
        out["added"] = spread([t - f for t, f in zip(case.times_us, times[(case.group, case.floor)])])
    return out


def paired_ratio(ratio: Ratio, times: Dict[tuple, List[float]]) -> Optional[Dict[str, Any]]:
    """The ratio within each repeat, summarised; None if a case is missing. Repeats whose
    denominator is not above its floor (below the timing noise) are left out, never inf."""
    keys = [(ratio.group, name) for name in (ratio.num, ratio.den, ratio.floor) if name]
    if any(k not in times for k in keys):
        return None
    values = []
    for num, den, *floor in zip(*(times[k] for k in keys)):
        base = floor[0] if floor else 0.0
        if den - base > 0:
            values.append((num - base) / (den - base))
    out: Dict[str, Any] = {"group": ratio.group, "label": ratio.label, "limit": ratio.limit, "repeats_used": len(values)}
    out.update(spread(values) if values else {"median": None, "n": 0})
    out["verdict"] = verdict(out["median"], ratio.limit, len(values))
    return out


def verdict(value: Optional[float], limit: Optional[float], repeats: int) -> Optional[str]:
    """'met', 'missed by N %', 'n/a: below noise' (a cost not above the timing noise) or
    'not judged' (too few repeats); None without a limit."""
    if limit is None:
        return None
    if value is None:
        return "n/a: below noise"
    if repeats < MIN_REPEATS_FOR_RANGE:
        return f"not judged on {repeats} repeats"
    if value <= 0:
        return "n/a: below noise"
    return "met" if value <= limit else f"missed by {value / limit - 1:.0%}"


def _range(s: Dict[str, Any], fmt: str) -> str:
    return f" [{format(s['q1'], fmt)}, {format(s['q3'], fmt)}]" if "q1" in s else ""


TITLES = {
    "a": f"(a) inside A.Compose with BboxParams, {HEIGHT}x{WIDTH} uint8, {BOXES} boxes, constant fill; per call",
    "b": "(b) the core alone on the case of (a), image and every box erased; per call",
    "c-cpu": f"(c) batched on CPU, float32 {BATCH_HEIGHT}x{BATCH_WIDTH}; per image unless marked",
    "c-cuda": f"(c) batched on CUDA, float32 {BATCH_HEIGHT}x{BATCH_WIDTH}; per image",
    "d": f"(d) torchvision v2 on a float32 {HEIGHT}x{WIDTH} tv_tensors.Image; per call",
}


def format_report(result: Dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"detaug from {result['detaug']}; {m['cpus']} CPUs, {result['args']['threads']} thread(s); "
             f"{result['args']['repeats']} repeats; load average {m['load_before'][0]:.1f} before, {m['load_after'][0]:.1f} after"]
    for group, title in TITLES.items():
        rows = [c for c in result["cases"] if c["group"] == group]
        if not rows:
            continue
        lines += ["", title]
        lines += [f"  {c['name']:<40} {c['median']:>9.1f} us{_range(c, '.1f')}"
                  + (f", adds {c['added']['median']:.1f} us{_range(c['added'], '.1f')}" if "added" in c else "") for c in rows]
        for r in (r for r in result["ratios"] if r["group"] == group):
            if r["median"] is None:
                lines.append(f"  {r['label']}: n/a (no repeat above the timing noise)")
                continue
            judged = f" (target <= {r['limit']}: {r['verdict']})" if r["limit"] is not None else ""
            lines.append(f"  {r['label']}: {r['median']:.2f}{_range(r, '.2f')}, paired over {r['n']} repeats{judged}")
    plans = next((c for c in result["cases"] if c["name"].startswith("plans of the batch")), None)
    if plans is not None:
        lines.append(f"  plans of the batch: {plans['median']:.0f} us per batch "
                     f"(target <= 200 us: {verdict(plans['median'], 200.0, plans['n'])})")
    if "c-cuda" not in {c["group"] for c in result["cases"]}:
        lines += ["", "(c) on CUDA: not run (no GPU)"]
    return "\n".join(lines)


def detaug_source() -> str:
    """Where ``detaug`` was imported from, and that checkout's commit (it may be an older core)."""
    import detaug

    folder = os.path.dirname(os.path.dirname(os.path.abspath(detaug.__file__)))
    git = subprocess.run(["git", "-C", folder, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"{folder} (commit {git.stdout.strip() or 'unknown'})"


def main(args: argparse.Namespace) -> Dict[str, Any]:
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    if args.quick:
        args.repeats, args.target_ms = min(args.repeats, 3), min(args.target_ms, 3.0)
    load_before = os.getloadavg()
    pool = make_pool(args.seed)
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    cases = albumentations_cases(pool) + core_cases(pool) + torchvision_cases(pool)
    cases += [c for device in devices for c in batched_cases(pool, args.batch_size, device)]
    run_round_robin(cases, args.repeats, args.target_ms / 1000)
    times = {(c.group, c.name): c.times_us for c in cases}
    result = {
        "args": vars(args), "detaug": detaug_source(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
                    "cuda": torch.cuda.get_device_name(0) if "cuda" in devices else None,
                    "load_before": load_before, "load_after": os.getloadavg()},
        "cases": [summarise(c, times) for c in cases],
        "ratios": [r for r in (paired_ratio(ratio, times) for ratio in RATIOS) if r is not None],
    }
    print(format_report(result))
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
