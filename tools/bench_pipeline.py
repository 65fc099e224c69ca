"""Per-sample time of a detection training pipeline on real-size photos, and erasing's share of it.

One sample: decode a JPEG (OpenCV), ``A.Compose([HorizontalFlip(p=0.5), erasing])`` with
``BboxParams``, then a float32 CHW tensor. Three pipelines on the same images:

* ``off``: the flip only;
* ``detaug``: then ``detaug.BoxAwareRandomErasing`` I+ORE with the paper's defaults
  (``image_p = object_p = 0.5``, scale (0.02, 0.2), ratio (0.3, 3.33)) and random fill;
* ``albumentations``: then ``A.Erasing(fill="random")`` (its defaults: p = 0.5);
* ``noop``: then ``A.NoOp()``: what one more transform costs in an ``A.Compose`` with boxes
  before it does any work (the call machinery, and the boxes checked again after it), a
  cost every transform in that place pays.

Times are the process's CPU time: on a shared machine the wall clock also counts the
time slices other processes get. The pipelines run round-robin in bursts (one burst of
every pipeline over the same images, then the next burst, the order rotating), so that
what load remains (caches, memory bandwidth) spreads over all three. Erasing's share of a pipeline is ``(t - t_off) / t`` within each burst (paired);
the median over bursts is reported, with quartiles when there are enough bursts.

The floor is measured in the same bursts: per sample, a copy of the decoded image and the
random bytes of the pixels detaug's plans erase on that image on average (drawn from the
bit generator's raw words), the least any erasing with a per-pixel random fill can do.
Targets (issue 21): detaug's added time at most 0.6x albumentations' and at most 3x the
floor (medians of the paired ratios). Beside them, informational: detaug's own time (its
added time minus ``noop``'s) against the floor and against ``A.Erasing``'s own time.

The images are a VOC-layout folder (``--images DIR`` with ``JPEGImages/`` and
``Annotations/``), or else JPEGs generated here: 500x375 to 640x480 px, 8 objects each,
smooth shading, textured objects and sensor noise, so that they decode like photos.

Usage::

    python tools/bench_pipeline.py --json benchmarks/pipeline.json
    python tools/bench_pipeline.py --images ../shared/realdata/VOCdevkit/REAL
    python tools/bench_pipeline.py --quick               # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import tempfile
import time
from typing import Any, Dict, List, Tuple

from bench_transforms import MIN_REPEATS_FOR_RANGE, detaug_source, spread, write_json

Sample = Tuple[str, List[List[float]]]  # a JPEG's path and its boxes (absolute xyxy, pixels)


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Erasing's share of a training data pipeline on photos", add_help=add_help)
    parser.add_argument("--images", default=None, metavar="DIR",
                        help="a VOC-layout folder (JPEGImages/, Annotations/); default: generate --count JPEGs")
    parser.add_argument("--count", type=int, default=24, help="JPEGs to generate without --images (default 24)")
    parser.add_argument("--bursts", type=int, default=15, help="timed bursts of every pipeline (default 15)")
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenCV threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images and the pipelines (default 0)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 6 generated images, 3 bursts")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    return parser


def generate_photos(folder: str, count: int, seed: int) -> List[Sample]:
    """``count`` JPEGs (quality 90, 55-70 KB like the photos they stand in for) with 8 boxed objects each."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    samples = []
    for k in range(count):
        width = int(rng.integers(500, 641))
        height = round(width * 0.75)
        image = cv2.resize(rng.uniform(40, 220, (4, 5, 3)), (width, height), interpolation=cv2.INTER_CUBIC)
        boxes = []
        for _ in range(8):
            w, h = rng.uniform(0.08, 0.4) * width, rng.uniform(0.08, 0.4) * height
            x1, y1 = int(rng.uniform(0, width - w)), int(rng.uniform(0, height - h))
            x2, y2 = x1 + int(w), y1 + int(h)
            texture = rng.uniform(0, 255, (int(rng.integers(2, 12)), int(rng.integers(2, 12)), 3))
            image[y1:y2, x1:x2] = cv2.resize(texture, (x2 - x1, y2 - y1), interpolation=cv2.INTER_CUBIC)
            boxes.append([x1, y1, x2, y2])
        image += rng.normal(0, 6, image.shape)
        path = os.path.join(folder, f"{k:04d}.jpg")
        cv2.imwrite(path, np.clip(image, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
        samples.append((path, boxes))
    return samples


def read_voc_folder(folder: str) -> List[Sample]:
    """Every annotated image of a VOC-layout folder (with ``<size>``); VOC's 1-based inclusive boxes become pixel-edge xyxy."""
    from detaug.data.voc import parse_voc_xml

    samples = []
    for xml in sorted(glob.glob(os.path.join(folder, "Annotations", "*.xml"))):
        ann = parse_voc_xml(xml)
        name = ann["filename"] or os.path.basename(xml)[:-4] + ".jpg"
        w, h = ann["width"], ann["height"]  # a hand-drawn box may stick out by a pixel: clip it
        boxes = [[max(x1 - 1, 0), max(y1 - 1, 0), min(x2, w), min(y2, h)] for x1, y1, x2, y2 in (o["bbox"] for o in ann["objects"])]
        samples.append((os.path.join(folder, "JPEGImages", name), boxes))
    if not samples:
        raise SystemExit(f"bench_pipeline.py: error: no Annotations/*.xml under {folder}")
    return samples


def build_pipelines(seed: int) -> Dict[str, Any]:
    import albumentations as A

    import detaug

    erasing = {"off": [], "detaug": [detaug.BoxAwareRandomErasing(mode="i+ore", fill="random")],
               "albumentations": [A.Erasing(fill="random")], "noop": [A.NoOp()]}
    bbox = A.BboxParams(format="pascal_voc", label_fields=["labels"])
    return {name: A.Compose([A.HorizontalFlip(p=0.5), *steps], bbox_params=bbox, seed=seed) for name, steps in erasing.items()}


def load(sample: Sample, pipeline: Any) -> Any:
    """What a training dataset's ``__getitem__`` does: decode, transform, to a float tensor."""
    import cv2
    import torch

    path, boxes = sample
    image = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    out = pipeline(image=image, bboxes=boxes, labels=list(range(len(boxes))))
    return torch.from_numpy(out["image"]).permute(2, 0, 1).float().div_(255), out["bboxes"]


def floor_work(samples: List[Sample], seed: int, draws: int = 20) -> List[Tuple[Any, int]]:
    """Per sample: its decoded image and the number of random 64-bit words for the bytes
    detaug's plans erase on it, on average over ``draws`` plans (overlaps counted once)."""
    import cv2
    import numpy as np

    from detaug.erasing import ErasingParams, sample_plan

    params, rng, work = ErasingParams(mode="i+ore", fill="random"), np.random.default_rng(seed), []
    for path, boxes in samples:
        image = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        erased = 0
        for _ in range(draws):
            covered = np.zeros(image.shape[:2], bool)
            for x1, y1, x2, y2 in sample_plan(image.shape, boxes, params, rng).rects.tolist():
                covered[y1:y2, x1:x2] = True
            erased += int(covered.sum()) * image.shape[2]
        work.append((image, -(-erased // (draws * 8))))
    return work


def run_floor(work: List[Tuple[Any, int]], rng: Any) -> None:
    for image, words in work:
        image.copy()
        rng.bit_generator.random_raw(words)


def run_bursts(samples: List[Sample], pipelines: Dict[str, Any], bursts: int,
               floor: Any = None) -> Dict[str, List[float]]:
    """CPU milliseconds per sample of each pipeline (and of the floor, a list of
    :func:`floor_work`) in each burst (one pass over ``samples``); the first burst warms up."""
    import numpy as np

    names = list(pipelines) + (["floor"] if floor is not None else [])
    times: Dict[str, List[float]] = {name: [] for name in names}
    rng = np.random.default_rng(0)
    for b in range(bursts + 1):
        for name in names[b % len(names):] + names[:b % len(names)]:
            start = time.process_time()
            if name == "floor":
                run_floor(floor, rng)
            else:
                for sample in samples:
                    load(sample, pipelines[name])
            if b:
                times[name].append((time.process_time() - start) / len(samples) * 1e3)
    return times


def erasing_shares(times: Dict[str, List[float]]) -> Dict[str, Any]:
    """Per erasing pipeline: its time, its added time and its share, paired with ``off`` burst by burst."""
    off = times["off"]
    out: Dict[str, Any] = {"off": {"ms": spread(off)}}
    for name in ("detaug", "albumentations"):
        out[name] = {"ms": spread(times[name]), "added_ms": spread([t - o for t, o in zip(times[name], off)]),
                     "share": spread([(t - o) / t for t, o in zip(times[name], off)])}
    difference = [(d - o) / d - (a - o) / a for d, a, o in zip(times["detaug"], times["albumentations"], off)]
    out["share_difference"] = spread(difference)
    median = out["share_difference"]["median"]
    if len(difference) < MIN_REPEATS_FOR_RANGE:
        out["verdict"] = f"not judged on {len(difference)} bursts"
    else:
        out["verdict"] = "met" if median <= 0 else f"missed by {median * 100:.1f} points"
    added = [t - o for t, o in zip(times["detaug"], off)]
    out["added_ratio"] = spread([d / (a - o) for d, a, o in zip(added, times["albumentations"], off) if a > o])
    out["added_ratio"]["target"] = 0.6
    if "floor" in times:
        out["floor"] = {"ms": spread(times["floor"])}
        out["floor_ratio"] = spread([d / f for d, f in zip(added, times["floor"])])
        out["floor_ratio"]["target"] = 3.0
    if "noop" in times:  # what one more transform costs before it does any work: every erasing pays it
        noop = [n - o for n, o in zip(times["noop"], off)]
        own = [d - n for d, n in zip(added, noop)]
        out["noop"] = {"ms": spread(times["noop"]), "added_ms": spread(noop)}
        out["own_ratio"] = spread([d / (a - o - n) for d, a, o, n in zip(own, times["albumentations"], off, noop)
                                   if a - o > n])
        if "floor" in times:
            out["own_floor_ratio"] = spread([d / f for d, f in zip(own, times["floor"])])
    for key in ("added_ratio", "floor_ratio"):
        if key in out:
            r = out[key]
            r["verdict"] = (f"not judged on {r['n']} bursts" if r["n"] < MIN_REPEATS_FOR_RANGE
                            else "met" if r["median"] <= r["target"] else "missed")
    return out


def _range(s: Dict[str, Any], scale: float = 1.0, fmt: str = ".2f") -> str:
    return f" [{format(s['q1'] * scale, fmt)}, {format(s['q3'] * scale, fmt)}]" if "q1" in s else ""


def format_report(result: Dict[str, Any]) -> str:
    m, data, s = result["machine"], result["data"], result["shares"]
    lines = [f"detaug from {result['detaug']}; {m['cpus']} CPUs, {result['args']['threads']} thread(s); "
             f"{result['args']['bursts']} bursts; load average {m['load_before'][0]:.1f} before, {m['load_after'][0]:.1f} after",
             f"{data['images']} {data['source']} JPEGs, {data['sizes']}, {data['mean_kb']:.0f} KB and "
             f"{data['mean_boxes']:.1f} boxes on average; decode, flip, erasing, float tensor; ms per sample",
             f"  {'off (flip only)':<16} {s['off']['ms']['median']:7.2f}{_range(s['off']['ms'])}"]
    for name in ("detaug", "albumentations"):
        r = s[name]
        lines.append(f"  {name:<16} {r['ms']['median']:7.2f}{_range(r['ms'])}, erasing adds {r['added_ms']['median']:.3f} ms"
                     f"{_range(r['added_ms'], fmt='.3f')} = {r['share']['median']:.1%} of the time{_range(r['share'], 100, '.1f')}")
    d = s["share_difference"]
    lines.append(f"  detaug's share minus albumentations', paired: {d['median'] * 100:+.1f} points{_range(d, 100, '+.1f')} "
                 f"over {d['n']} bursts (<= 0: {s['verdict']})")
    r = s["added_ratio"]
    lines.append(f"  detaug's added time / albumentations': {r['median']:.2f}{_range(r)} (target <= {r['target']}: {r['verdict']})")
    if "floor" in s:
        f = s["floor_ratio"]
        lines.append(f"  floor (copy + random bytes of the erased pixels) {s['floor']['ms']['median']:.3f} ms{_range(s['floor']['ms'], fmt='.3f')}; "
                     f"detaug's added time / floor: {f['median']:.2f}{_range(f)} (target <= {f['target']}: {f['verdict']})")
    if "noop" in s:
        n = s["noop"]["added_ms"]
        lines.append(f"  one more transform (A.NoOp) adds {n['median']:.3f} ms{_range(n, fmt='.3f')}; without it, detaug's own "
                     f"time / A.Erasing's own: {s['own_ratio']['median']:.2f}{_range(s['own_ratio'])}"
                     + (f", / floor: {s['own_floor_ratio']['median']:.2f}{_range(s['own_floor_ratio'])}"
                        if "own_floor_ratio" in s else "") + " (informational)")
    return "\n".join(lines)


def describe(samples: List[Sample], source: str) -> Dict[str, Any]:
    import cv2

    sizes = sorted((w, h) for h, w, _ in (cv2.imread(path).shape for path, _ in samples))
    (w0, h0), (w1, h1) = sizes[0], sizes[-1]
    return {"source": source, "images": len(samples), "sizes": f"{w0}x{h0}" + ("" if sizes[0] == sizes[-1] else f" to {w1}x{h1}"),
            "mean_kb": statistics.mean(os.path.getsize(p) for p, _ in samples) / 1024,
            "mean_boxes": statistics.mean(len(b) for _, b in samples)}


def main(args: argparse.Namespace) -> Dict[str, Any]:
    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    if args.quick:
        args.count, args.bursts = min(args.count, 6), min(args.bursts, 3)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        samples = read_voc_folder(args.images) if args.images else generate_photos(folder, args.count, args.seed)
        data = describe(samples, "real" if args.images else "generated")
        pipelines = build_pipelines(args.seed)
        times = run_bursts(samples, pipelines, args.bursts, floor_work(samples, args.seed))
    result = {"args": vars(args), "detaug": detaug_source(), "data": data,
              "pipelines": {name: repr(p.transforms) for name, p in pipelines.items()},
              "machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "load_before": load_before,
                          "load_after": os.getloadavg()},
              "times_ms": times, "shares": erasing_shares(times), "min_bursts_for_range": MIN_REPEATS_FOR_RANGE}
    print(format_report(result))
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
