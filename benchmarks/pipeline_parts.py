"""Where detaug's time goes inside a training pipeline: the albumentations front-end taken apart.

The pipeline is ``tools/bench_pipeline.py``'s (decode excluded: the photos are decoded once,
then ``A.Compose([HorizontalFlip(p=0.5), step])`` with ``BboxParams`` per sample), and the
``step`` is, in turn:

* ``noop``: ``A.NoOp()``: what one more transform costs in an ``A.Compose`` with boxes
  before it does any work (the call machinery, the boxes checked again after it);
* ``front-end``: detaug's transform returning an empty plan from its own front-end code
  (boxes to pixels, the checks, the worker's generator) without drawing it;
* ``+ plan``: the same, drawing the plan (``sample_plan``) and not applying it;
* ``+ copy``: drawing the plan and returning a copy of the image (what every kernel that
  does not write into its input does);
* ``detaug``: the transform itself (I+ORE, the paper's defaults, random fill).

Each step's cost is its pipeline's time minus the pipeline without it, paired burst by
burst (CPU time of the process, the pipelines round-robin as in the other tools); each
part is the difference of two consecutive steps. The parts are measured in the pipeline,
where the caches hold the photos and albumentations' objects, not in a loop of their own.

Usage::

    python benchmarks/pipeline_parts.py ../shared/realdata/VOCdevkit/REAL --json benchmarks/raw/parts.json
    python benchmarks/pipeline_parts.py --quick          # smoke run on generated photos, a few seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))

STEPS = ("off", "noop", "front-end", "+ plan", "+ copy", "detaug")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="detaug's albumentations front-end taken apart, in a pipeline")
    parser.add_argument("images", nargs="?", default=None,
                        help="a VOC-layout folder (JPEGImages/, Annotations/); default: 24 JPEGs generated as bench_pipeline.py does")
    parser.add_argument("--bursts", type=int, default=120, help="timed bursts of every pipeline (default 120)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 6 generated photos, 2 bursts")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    return parser


def steps() -> Dict[str, list]:
    """The step after the flip, per pipeline."""
    import albumentations as A

    import detaug
    import detaug.adapters.albumentations as adapter
    from detaug.erasing import ErasePlan

    empty = {}  # one empty plan per image size, made once (not timed as the front-end's)

    class FrontEnd(detaug.BoxAwareRandomErasing):  # the front-end's work, the plan not drawn
        def get_params_dependent_on_data(self, params: dict, data: dict) -> dict:
            draw, adapter.sample_plan = adapter.sample_plan, lambda size, *a, **k: (
                empty[size] if size in empty else empty.setdefault(size, ErasePlan.empty(size)))
            try:
                return super().get_params_dependent_on_data(params, data)
            finally:
                adapter.sample_plan = draw

        def apply(self, img: Any, plan: Any, **params: Any) -> Any:
            return img

    class PlanOnly(detaug.BoxAwareRandomErasing):
        def apply(self, img: Any, plan: Any, **params: Any) -> Any:
            return img

    class PlanAndCopy(detaug.BoxAwareRandomErasing):
        def apply(self, img: Any, plan: Any, **params: Any) -> Any:
            return img.copy()

    paper = dict(mode="i+ore", fill="random")
    return {"off": [], "noop": [A.NoOp()], "front-end": [FrontEnd(**paper)], "+ plan": [PlanOnly(**paper)],
            "+ copy": [PlanAndCopy(**paper)], "detaug": [detaug.BoxAwareRandomErasing(**paper)]}


def decoded_photos(images: Optional[str], quick: bool) -> List[tuple]:
    """``(RGB image, boxes)`` pairs, decoded once: a VOC-layout folder's photos, or generated
    ones (6 for a smoke run, else 24) as ``bench_pipeline.py`` makes them."""
    import cv2
    from bench_pipeline import generate_photos, read_voc_folder

    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as folder:
        samples = read_voc_folder(images) if images else generate_photos(folder, 6 if quick else 24, 0)
        return [(cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB), boxes) for path, boxes in samples]


def time_bursts(pipelines: Dict[str, Any], images: List[tuple], bursts: int) -> Dict[str, List[float]]:
    """CPU us per sample of every pipeline in each burst, the pipelines round-robin and their
    order rotating from burst to burst; one burst more than asked warms up first."""
    names = list(pipelines)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for b in range(bursts + 1):
        for name in names[b % len(names):] + names[:b % len(names)]:
            start = time.process_time()
            for image, boxes in images:
                pipelines[name](image=image, bboxes=boxes, labels=list(range(len(boxes))))
            if b:
                times[name].append((time.process_time() - start) / len(images) * 1e6)
    return times


def main(args: argparse.Namespace) -> Dict[str, Any]:
    import albumentations as A
    from bench_transforms import detaug_source, spread, write_json

    if args.quick:
        if args.images:
            raise SystemExit("pipeline_parts: --quick runs on 6 generated photos; leave out the folder (or --quick)")
        args.bursts = min(args.bursts, 2)
    images = decoded_photos(args.images, args.quick)
    bbox = A.BboxParams(format="pascal_voc", label_fields=["labels"])
    pipelines = {name: A.Compose([A.HorizontalFlip(p=0.5), *step], bbox_params=bbox, seed=0) for name, step in steps().items()}
    load_before = os.getloadavg()
    times = time_bursts(pipelines, images, args.bursts)
    parts = {later: spread([t - s for t, s in zip(times[later], times[earlier])])
             for earlier, later in zip(STEPS, STEPS[1:])}
    total = spread([t - o for t, o in zip(times["detaug"], times["off"])])
    result = {"detaug": detaug_source(), "images": len(images), "bursts": args.bursts, "times_us": times,
              "parts_us": parts, "detaug_added_us": total, "load": [load_before[0], os.getloadavg()[0]]}
    names = {"noop": "one more transform (A.NoOp)", "front-end": "detaug's front-end (boxes, checks, generator)",
             "+ plan": "drawing the plan (sample_plan)", "+ copy": "the copy of the image",
             "detaug": "the random bytes and their writes"}
    print(f"detaug from {result['detaug']}; {len(images)} photos, {args.bursts} bursts, load {load_before[0]:.1f}; "
          f"CPU us per sample, medians of paired differences")
    for name, label in names.items():
        print(f"  {label:<46} {parts[name]['median']:7.1f}")
    print(f"  {'detaug in all (its pipeline minus the flip alone)':<46} {total['median']:7.1f}")
    if args.quick:
        print("  (a smoke run: two bursts say nothing about speed; parts may even come out negative)")
    write_json(args.json, result)
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
