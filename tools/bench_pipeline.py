"""Images per second of the training data pipeline, with erasing off and on.

The per-image transforms are the training tool's: :func:`detaug.pipeline.build_transforms`
(``train=True``) of a training config, by default the synthetic preset
``synthetic_frcnn_small_iore`` (horizontal flip, box-aware Random Erasing I+ORE), applied
by ``detaug.data.VOCDetection`` (decode the JPEG, transforms, float CHW tensor) and batched
by a ``DataLoader`` with N workers. So by default this measures what training runs (the
synthetic images are 128-192 px; the model's own resizing is not part of the data
pipeline). ``--resize N`` adds a resize of the longest side to N px after the flip (VOC-like
images at N=500); it is not in any training config, and the results record it under
``resize``. Configurations, run alternately (off, on, device, off, on, ...) so that load
from other processes spreads over all of them:

* ``off``: the config's pipeline with ``augmentation.erasing.mode=none`` (flip only);
* ``on``: the config's pipeline, erasing in the workers (its ``augmentation.backend``);
* ``device``: the ``off`` pipeline in the workers, then the training tool's device module
  (:func:`detaug.pipeline.build_device_erasing`, ``BatchedBoxAwareRandomErasing``) on each
  collated batch in the main process (on ``--device``), as with
  ``augmentation.erasing.device=true``.

Loader throughput on a shared machine is noisy, so the tool also measures the cost per
sample directly (``per_sample``): ``dataset[i]`` with and without erasing, alternating
in bursts in the main process, the same images for both; the cost is the median over
bursts of the paired difference.

The dataset is the synthetic one (:func:`detaug.data.generate_synthetic`), generated
once under ``--data-root``. Worker start-up is excluded: each run iterates the loader
once untimed (with persistent workers), then times ``--epochs`` passes.

Usage::

    python tools/bench_pipeline.py --workers 0 2 --json benchmarks/pipeline.json
    python tools/bench_pipeline.py --config synthetic_frcnn_small_ore --resize 500
    python tools/bench_pipeline.py --quick --json out.json      # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, List


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Data pipeline throughput with and without box-aware Random Erasing", add_help=add_help)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="DataLoader worker counts to measure (default 0 2)")
    parser.add_argument("--batch-size", type=int, default=8, help="batch size (default 8)")
    parser.add_argument("--images", type=int, default=400, help="training images in the synthetic set (default 400)")
    parser.add_argument("--config", default="synthetic_frcnn_small_iore",
                        help="training config whose train pipeline is measured: a preset name or a YAML file "
                             "(default synthetic_frcnn_small_iore, the training tool's default)")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE",
                        help="config overrides, e.g. augmentation.backend=torchvision augmentation.erasing.fill=0")
    parser.add_argument("--resize", type=int, default=0, metavar="N",
                        help="extra step, not in the training pipeline: resize the longest side to N px after the "
                             "flip (500: VOC-like images); default 0: none, as in training")
    parser.add_argument("--device", default="cpu", help="device of the 'device' configuration (default cpu)")
    parser.add_argument("--epochs", type=int, default=1, help="timed passes over the dataset per run (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration; the median is reported (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch / OpenCV threads per process (default 1)")
    parser.add_argument("--data-root", default=os.path.join(tempfile.gettempdir(), "detaug-bench-data"), help="where the synthetic set is generated")
    parser.add_argument("--quick", action="store_true", help="smoke run: 24 images, 0 workers, 1 repeat")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    parser.add_argument("--seed", type=int, default=0, help="dataset and loader seed (default 0)")
    parser.add_argument("--per-sample-bursts", type=int, default=15, help="paired bursts of the per-sample measurement (default 15)")
    return parser


def load_bench_config(args: argparse.Namespace) -> Any:
    """The training config whose pipeline is measured (``--config`` and ``--set``)."""
    from detaug.config import load_config

    return load_config(args.config, list(args.overrides))


def build_transforms(cfg: Any, erasing: bool, resize: int = 0) -> Any:
    """The training tool's train pipeline of ``cfg`` (:func:`detaug.pipeline.build_transforms`),
    without erasing if ``erasing`` is False, with a longest-side resize to ``resize`` px
    inserted after the flip if ``resize`` > 0."""
    from omegaconf import OmegaConf

    from detaug.pipeline import build_transforms as training_transforms

    if not erasing:
        cfg = OmegaConf.merge(cfg, {"augmentation": {"erasing": {"mode": "none", "device": False}}})
    else:
        cfg = OmegaConf.merge(cfg, {"augmentation": {"erasing": {"device": False}}})
    pipeline = training_transforms(cfg, train=True)
    if not resize:
        return pipeline
    steps = list(pipeline.transforms) if pipeline is not None else []
    at = 1 if steps and "Flip" in type(steps[0]).__name__ else 0
    if cfg.augmentation.backend == "albumentations":
        import albumentations as A

        steps.insert(at, A.LongestMaxSize(max_size=resize))
        return A.Compose(steps, bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]))
    from torchvision.transforms import v2

    steps.insert(at, v2.Resize(size=None, max_size=resize, antialias=True) if _resize_accepts_none()
                 else v2.Resize(resize - 1, max_size=resize))
    return v2.Compose(steps)


def _resize_accepts_none() -> bool:
    from torchvision.transforms import v2

    try:
        v2.Resize(size=None, max_size=10)
        return True
    except (TypeError, ValueError):
        return False


def _worker_init(worker_id: int) -> None:
    import torch

    torch.set_num_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover
        pass


def run_config(dataset: Any, args: argparse.Namespace, workers: int, device_module: Any = None) -> Dict[str, float]:
    """One run: an untimed warm-up pass, then ``args.epochs`` timed passes."""
    import torch
    from torch.utils.data import DataLoader

    from detaug.data import collate_fn

    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=workers, collate_fn=collate_fn,
                        persistent_workers=workers > 0, worker_init_fn=_worker_init if workers else None,
                        generator=torch.Generator().manual_seed(args.seed))

    def one_pass() -> int:
        n = 0
        for images, targets in loader:
            if device_module is not None:
                images = [x.to(args.device, non_blocking=True) for x in images]
                images, targets = device_module(images, targets)
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
            n += len(images)
        return n

    one_pass()  # warm-up: worker start-up, page cache, lazy imports
    start = time.perf_counter()
    count = sum(one_pass() for _ in range(args.epochs))
    seconds = time.perf_counter() - start
    del loader
    return {"images": count, "seconds": seconds, "images_per_s": count / seconds}


def per_sample_cost(off: Any, on: Any, bursts: int, burst: int = 50) -> Dict[str, float]:
    """Milliseconds per ``dataset[i]`` without and with erasing, paired bursts over the same images."""
    n = len(off)
    times: Dict[str, List[float]] = {"off": [], "on": []}
    for b in range(bursts + 1):
        idx = [(b * burst + k) % n for k in range(burst)]
        for name, ds in (("off", off), ("on", on)):
            start = time.perf_counter()
            for i in idx:
                ds[i]
            if b:  # the first burst warms up
                times[name].append((time.perf_counter() - start) / burst * 1e3)
    diffs = [a - b for a, b in zip(times["on"], times["off"])]
    off_ms, extra = statistics.median(times["off"]), statistics.median(diffs)
    return {"off_ms": off_ms, "on_ms": statistics.median(times["on"]), "erasing_ms": extra, "cost_fraction": extra / (off_ms + extra),
            "bursts": bursts, "burst": burst}


def main(args: argparse.Namespace) -> Dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    try:
        import cv2

        cv2.setNumThreads(args.threads)
    except ImportError:  # pragma: no cover
        pass
    from omegaconf import OmegaConf

    from detaug.data import VOCDetection, generate_synthetic
    from detaug.pipeline import build_device_erasing

    if args.quick:
        args.images, args.workers, args.repeats, args.epochs = min(args.images, 24), [0], 1, 1
        args.per_sample_bursts = min(args.per_sample_bursts, 2)
    cfg = load_bench_config(args)
    if cfg.augmentation.erasing.mode == "none":
        raise SystemExit(f"bench_pipeline.py: error: {args.config} has augmentation.erasing.mode=none; nothing to measure")
    info = generate_synthetic(args.data_root, seed=args.seed, num_train=args.images, num_test=0, occlusion_levels=())
    datasets = {
        "off": VOCDetection(info.voc_root, "train", classes=info.classes,
                            transforms=build_transforms(cfg, erasing=False, resize=args.resize)),
        "on": VOCDetection(info.voc_root, "train", classes=info.classes,
                           transforms=build_transforms(cfg, erasing=True, resize=args.resize)),
    }
    torch.manual_seed(args.seed)  # the device module draws from torch's global generator, as in training
    device_module = build_device_erasing(OmegaConf.merge(cfg, {"augmentation": {"erasing": {"device": True}}}))
    configs = [("off", "off", None), ("on", "on", None), ("device", "off", device_module)]
    rows = []
    for workers in args.workers:
        runs: Dict[str, List[Dict[str, float]]] = {name: [] for name, _, _ in configs}
        for r in range(args.repeats):
            for name, ds, module in configs:
                runs[name].append(run_config(datasets[ds], args, workers, module))
                print(f"  workers={workers} repeat {r + 1}/{args.repeats} {name}: {runs[name][-1]['images_per_s']:.1f} img/s", file=sys.stderr, flush=True)
        off = statistics.median(x["images_per_s"] for x in runs["off"])
        for name, _, _ in configs:
            ips = [x["images_per_s"] for x in runs[name]]
            med = statistics.median(ips)
            rows.append({
                "workers": workers, "erasing": name, "images_per_s": med, "runs_images_per_s": ips,
                "images_per_run": runs[name][0]["images"], "cost_vs_off": 1.0 - med / off,
            })
    per_sample = per_sample_cost(datasets["off"], datasets["on"], args.per_sample_bursts, burst=8 if args.quick else 50)
    er = cfg.augmentation.erasing
    pipeline = {
        "config": cfg.name, "backend": cfg.augmentation.backend, "hflip_p": cfg.augmentation.hflip_p,
        "mode": er.mode, "fill": OmegaConf.to_container(er, resolve=True)["fill"],
        "resize": args.resize or None, "on": repr(datasets["on"].transforms), "device": repr(device_module),
    }
    result = {
        "args": vars(args), "pipeline": pipeline, "dataset": str(info.root), "rows": rows, "per_sample": per_sample,
        "machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "loadavg": os.getloadavg()},
        "target": "erasing costs under 3% of pipeline throughput (cost_vs_off < 0.03)",
    }
    print(f"pipeline: {cfg.name} train transforms ({pipeline['backend']}, mode {pipeline['mode']}, fill {pipeline['fill']})"
          + (f" + resize to {args.resize} px (not in the training config)" if args.resize else ", as in training"))
    print(f"{'workers':>7} {'erasing':<8} {'img/s':>9} {'cost vs off':>12}")
    for row in rows:
        print(f"{row['workers']:>7} {row['erasing']:<8} {row['images_per_s']:>9.1f} {row['cost_vs_off']:>11.1%}")
    print(f"per sample (main process, paired): {per_sample['off_ms']:.2f} ms without erasing, +{per_sample['erasing_ms']:.3f} ms "
          f"with erasing = {per_sample['cost_fraction']:.1%} of the pipeline's time")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=str)
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
