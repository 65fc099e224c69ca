"""The batched path on a GPU: ``erase_batch`` next to timm's ``RandomErasing`` on the same device.

Per batch (median over repeats, after warm-up; the device is synchronised around every
call), for float32 batches of VOC-like (375x500) and detection-training-like (800x1216)
images: IRE with timm's settings (constant and per-pixel normal fills), and I+ORE with the
paper's settings and 5 boxes per image (random fill; timm has no box-aware mode). Also
checks that the GPU erases the CPU's regions for the same generator seed. Needs only
torch, torchvision, numpy and (optionally) timm::

    python benchmarks/gpu_batched.py --json gpu.json
    python benchmarks/gpu_batched.py --json gpu.json --docs docs/benchmarks.md   # also the table there

``--docs`` replaces the block between ``<!-- gpu-batched:start -->`` and
``<!-- gpu-batched:end -->`` in that file with this run's table (``benchmarks/gpu/run.sh``
does it on a borrowed GPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial

import numpy as np
import torch

from detaug.erasing import ErasingParams, erase_batch

#: The old core (before 0.2) took its generator on the batch's device; the new one on the CPU.
GENERATOR_ON_DEVICE = False


def _time(fn, device: torch.device, repeats: int) -> float:
    """Median seconds per call, the device synchronised around each one."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _timm(timm, images: torch.Tensor) -> torch.Tensor:
    return timm(images.clone())  # timm erases in place: a copy, as erase_batch makes


def _boxes(batch: int, height: int, width: int, device: torch.device) -> list:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(batch):
        x1, y1 = rng.uniform(0, 0.6 * width, 5), rng.uniform(0, 0.6 * height, 5)
        w, h = rng.uniform(0.1 * width, 0.4 * width, 5), rng.uniform(0.1 * height, 0.4 * height, 5)
        out.append(torch.tensor(np.stack([x1, y1, x1 + w, y1 + h], 1), dtype=torch.float32, device=device))
    return out


def run(device: torch.device, repeats: int) -> list:
    rows = []
    try:
        from timm.data.random_erasing import RandomErasing as TimmErasing
    except ImportError:  # optional
        TimmErasing = None
    timm_like = dict(mode="ire", image_p=1.0, ratio_sampling="log", max_attempts=10, scale=(0.02, 1 / 3), ratio=(0.3, 1 / 0.3))
    for batch, height, width in ((8, 375, 500), (8, 800, 1216)):
        images = torch.rand(batch, 3, height, width, device=device)
        boxes = _boxes(batch, height, width, device)
        generator = torch.Generator(device=device if GENERATOR_ON_DEVICE else "cpu").manual_seed(0)
        cases = [
            ("detaug IRE, fill 0", partial(erase_batch, images, None, ErasingParams(**timm_like, fill=0.0), generator=generator)),
            ("detaug IRE, fill random_normal",
             partial(erase_batch, images, None, ErasingParams(**timm_like, fill="random_normal"), generator=generator)),
            ("detaug I+ORE paper, 5 boxes, fill random", partial(erase_batch, images, boxes, ErasingParams(), generator=generator)),
        ]
        if TimmErasing is not None:
            for mode in ("const", "pixel"):
                timm = TimmErasing(probability=1.0, mode=mode, device=str(device))
                cases.append((f"timm RandomErasing, mode {mode}", partial(_timm, timm, images)))
        for name, fn in cases:
            seconds = _time(fn, device, repeats)
            rows.append({"device": str(device), "batch": batch, "size": f"{height}x{width}", "case": name,
                         "ms_per_batch": 1e3 * seconds, "us_per_image": 1e6 * seconds / batch})
            print(f"{device} {batch}x3x{height}x{width}  {name:44s} {1e3 * seconds:8.2f} ms/batch {1e6 * seconds / batch:9.1f} us/image",
                  flush=True)
    return rows


def same_as_cpu(device: torch.device) -> bool:
    """The device erases the CPU's regions for the same seed (plans are drawn on the CPU), and a
    constant fill gives the CPU's pixels (random values are drawn on the device: other values)."""
    images = torch.rand(4, 3, 120, 160)
    boxes = _boxes(4, 120, 160, torch.device("cpu"))
    for fill in ("random", "random_color", 0.5, (0.1, 0.2, 0.3)):
        params = ErasingParams(image_p=1.0, object_p=1.0, fill=fill)
        cpu, cpu_plans = erase_batch(images, boxes, params, generator=torch.Generator().manual_seed(3))
        dev, dev_plans = erase_batch(images.to(device), [b.to(device) for b in boxes], params, generator=torch.Generator().manual_seed(3))
        if cpu_plans != dev_plans or (not isinstance(fill, str) and not torch.equal(dev.cpu(), cpu)):
            return False
    return True


START, END = "<!-- gpu-batched:start -->", "<!-- gpu-batched:end -->"


def markdown(result: dict) -> str:
    """This run's rows as a markdown table, with what it ran on and the I+ORE / timm ratio."""
    rows = result["rows"]
    lines = [f"Run on {result['gpu'] or 'no GPU'} (torch {result['torch']}, detaug {result.get('commit') or '?'}); "
             "median ms per batch of 8, the device synchronised around each call.", "",
             "| device | images | case | ms per batch |", "|---|---|---|---:|"]
    lines += [f"| {r['device']} | 8x{r['size']} | {r['case']} | {r['ms_per_batch']:.2f} |" for r in rows]
    for device in sorted({r["device"] for r in rows}):
        big = {r["case"]: r["ms_per_batch"] for r in rows if r["device"] == device and r["size"] == "800x1216"}
        ours, timm = big.get("detaug I+ORE paper, 5 boxes, fill random"), big.get("timm RandomErasing, mode pixel")
        if ours and timm:
            lines.append(f"\n{device}, 800x1216: detaug I+ORE with 5 boxes per image / timm IRE (per-pixel fill) = "
                         f"{ours / timm:.2f} (target on the GPU: at most 1)")
    lines.append(f"\nGPU erases the CPU's regions and constant pixels: {result['gpu_same_regions_and_constants_as_cpu']}")
    return "\n".join(lines)


def write_docs(path: str, table: str) -> None:
    """Replace the marked block of ``path`` with ``table`` (the markers stay)."""
    with open(path) as f:
        text = f.read()
    if START not in text or END not in text:
        raise SystemExit(f"--docs {path}: no {START} ... {END} block to replace")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(f"{head}{START}\n{table}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per case (default 20)")
    parser.add_argument("--json", default=None, help="write the rows here")
    parser.add_argument("--docs", default=None, help="replace this markdown file's gpu-batched block with the table")
    parser.add_argument("--timing-only", action="store_true",
                        help="skip the CPU comparison (to time an older core, whose erase_batch returned regions)")
    args = parser.parse_args()
    global GENERATOR_ON_DEVICE
    GENERATOR_ON_DEVICE = args.timing_only
    devices = [torch.device("cuda")] if torch.cuda.is_available() else []
    rows = []
    for device in [*devices, torch.device("cpu")]:
        rows += run(device, args.repeats if device.type == "cuda" else max(3, args.repeats // 4))
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = {"gpu": torch.cuda.get_device_name(0) if devices else None, "torch": torch.__version__, "commit": commit,
              "cpu_threads": torch.get_num_threads(), "rows": rows,
              "gpu_same_regions_and_constants_as_cpu": same_as_cpu(devices[0]) if devices and not args.timing_only else None}
    print("GPU: the CPU's regions and constant pixels:", result["gpu_same_regions_and_constants_as_cpu"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if args.docs:
        write_docs(args.docs, markdown(result))


if __name__ == "__main__":
    main()
