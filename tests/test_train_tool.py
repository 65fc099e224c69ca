"""tools/train_det.py end to end on a tiny generated dataset and a tiny model (CPU, seconds)."""

import importlib
import json
import os
import signal
import subprocess
import sys

import pytest
import torch
from _training_helpers import REPO, TINY, TOOL, tool_env, torchrun

from detaug.engine import load_checkpoint

train_det = importlib.import_module("detaug.cli.train")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("synthetic")


def run(data_root, out, *extra, overrides=()):
    argv = ["--output-dir", str(out), "--set", f"data.root={data_root}", *TINY, *overrides, *extra]
    args = train_det.get_args_parser().parse_args(argv)
    return train_det.main(args)


@pytest.mark.parametrize("mode", ["none", "ire", "ore", "i+ore"])
def test_short_training_run_for_each_mode(data_root, tmp_path, mode):
    summary = run(data_root, tmp_path / "run", overrides=[f"augmentation.erasing.mode={mode}"])
    out = tmp_path / "run"
    assert summary["stopped"] is None and summary["epoch"] == 1
    assert set(summary["metrics"]) == {"test", "occluded"}
    for metrics in summary["metrics"].values():
        assert 0.0 <= metrics["mAP"] <= 1.0
    saved = (out / "config.yaml").read_text()
    assert f"mode: {mode}" in saved
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert (state["epoch"], state["iteration"], state["global_step"]) == (1, 0, 2)
    assert state["config"]["augmentation"]["erasing"]["mode"] == mode
    assert not (out / "checkpoint_best.pth").exists()  # no validation split: nothing is chosen, last is the result
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["type"] for r in records] == ["train", "eval"]
    assert (out / "predictions" / "epoch001" / "test" / "comp4_det_test_circle.txt").is_file()


def test_torchvision_backend_trains(data_root, tmp_path):
    summary = run(data_root, tmp_path / "tv", overrides=["augmentation.backend=torchvision",
                                                        "augmentation.erasing.mode=ore"])
    assert summary["stopped"] is None and 0.0 <= summary["metrics"]["test"]["mAP"] <= 1.0
    assert "backend: torchvision" in (tmp_path / "tv" / "config.yaml").read_text()


def test_coco_layout_trains_and_writes_coco_results(data_root, tmp_path):
    from detaug.data import generate_synthetic

    info = generate_synthetic(data_root, seed=0, num_train=8, num_test=4)  # the set the other tests use
    split = "{{name: {n}, image_dir: {d}, ann_file: {a}}}"
    summary = run(data_root, tmp_path / "coco", overrides=[
        "data.kind=coco",
        "evaluation.metric=",  # the dataset's own: coco
        "data.train=[" + split.format(n="train", d=info.image_dir, a=info.coco_annotations["train"]) + "]",
        "data.test=[" + split.format(n="test", d=info.image_dir, a=info.coco_annotations["test"]) + "]",
    ])
    metrics = summary["metrics"]["test"]
    assert {"AP", "AP50", "AP75"} <= set(metrics)
    results_file = tmp_path / "coco" / "predictions" / "epoch001" / "test" / "results.json"
    results = json.loads(results_file.read_text())
    truth = json.loads(info.coco_annotations["test"].read_text())
    assert results, "the trained model wrote no detection"
    assert {tuple(sorted(r)) for r in results} == {("bbox", "category_id", "image_id", "score")}
    assert {r["image_id"] for r in results} <= {im["id"] for im in truth["images"]}
    assert {r["category_id"] for r in results} <= {c["id"] for c in truth["categories"]}
    # the AP the run reports is the one its results file scores to when read back the way
    # detaug-eval coco reads a results file (an independent path through the file format)
    from detaug.evaluation import evaluate_coco_results

    assert evaluate_coco_results(info.coco_annotations["test"], results_file)["AP"] == pytest.approx(metrics["AP"],
                                                                                                     abs=1e-12)


def _assert_same_state(a, b):
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert torch.equal(sa["momentum_buffer"], sb["momentum_buffer"])
    assert a["scheduler"] == b["scheduler"]
    assert (a["epoch"], a["iteration"], a["global_step"]) == (b["epoch"], b["iteration"], b["global_step"])


def test_resume_after_interruption_equals_an_uninterrupted_run(data_root, tmp_path):
    # CPU: bitwise equal as it stands (on CUDA it takes runtime.deterministic=true, checked on a GPU by hand)
    common = ["schedule.epochs=2", "augmentation.erasing.mode=i+ore", "evaluation.interval=0",
              "data.synthetic_num_train=12", "data.batch_size=4", "runtime.device=cpu"]  # 3 iterations per epoch
    run(data_root, tmp_path / "full", overrides=common)
    stopped = run(data_root, tmp_path / "parts", "--stop-after-iters", "4", overrides=common)
    assert stopped["stopped"] == "stop-after-iters"
    mid = load_checkpoint(tmp_path / "parts" / "checkpoint_last.pth")
    assert (mid["epoch"], mid["iteration"], mid["global_step"]) == (1, 1, 4)  # inside the second epoch
    args = train_det.get_args_parser().parse_args(["--resume", str(tmp_path / "parts")])
    resumed = train_det.main(args)
    assert resumed["stopped"] is None
    _assert_same_state(load_checkpoint(tmp_path / "full" / "checkpoint_last.pth"),
                       load_checkpoint(tmp_path / "parts" / "checkpoint_last.pth"))
    # a finished run can be lengthened: the step count is kept, the schedule follows the config
    args = train_det.get_args_parser().parse_args(["--resume", str(tmp_path / "full"), "--set", "schedule.epochs=3"])
    longer = train_det.main(args)
    state = load_checkpoint(tmp_path / "full" / "checkpoint_last.pth")
    assert longer["epoch"] == 3 and (state["epoch"], state["global_step"]) == (3, 9)
    assert state["scheduler"]["lr_lambdas"][0]["total_iters"] == 9


def test_eval_only_reproduces_the_final_metrics(data_root, tmp_path):
    summary = run(data_root, tmp_path / "run")
    args = train_det.get_args_parser().parse_args(
        ["--eval-only", "--checkpoint", str(tmp_path / "run" / "checkpoint_last.pth")])
    again = train_det.main(args)
    assert again["metrics"]["test"]["mAP"] == summary["metrics"]["test"]["mAP"]
    assert again["metrics"]["occluded"]["mAP"] == summary["metrics"]["occluded"]["mAP"]
    assert (tmp_path / "run" / "eval" / "config.yaml").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--eval-only"], "--eval-only needs --checkpoint"),
        (["--checkpoint", "x.pth"], "only used with --eval-only"),
        (["--resume", "/nonexistent/run"], "--resume"),
        (["--set", "model.name=yolo"], "valid: 'fasterrcnn_resnet50_fpn'"),
        (["--set", "augmentation.erasing.mode=sometimes"], "augmentation.erasing.mode"),
        (["--set", "model.name=fasterrcnn_resnet50_fpn", "model.weights=NOT_A_WEIGHT"], "valid: DEFAULT, COCO_V1"),
        (["--set", "model.weights=NOT_A_WEIGHT"], "fasterrcnn_small has no torchvision weights"),
        (["--config", str(REPO / "configs" / "voc07_frcnn_r50_iore.yaml"), "--set", "data.train.0.root=/nope"],
         "data.train.0.root: not found: /nope"),
    ],
)
def test_incompatible_options_are_rejected_before_any_work(tmp_path, capsys, argv, message):
    out = tmp_path / "never"
    code = train_det.run(argv + ["--output-dir", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(data_root, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, str(TOOL), "--output-dir", str(out), "--set", f"data.root={data_root}", *TINY,
           "schedule.epochs=50"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tool_env())
    try:
        for line in proc.stdout:
            if line.startswith("epoch 1 ["):  # training has started
                proc.send_signal(signal.SIGTERM)
                break
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert "stopped (SIGTERM)" in stdout and "--resume" in stdout
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["global_step"] >= 1 and state["epoch"] < 50


def test_two_process_torchrun_on_cpu(data_root, tmp_path):
    out = tmp_path / "ddp"
    cmd = torchrun(2) + ["--output-dir", str(out), "--device", "cpu", "--set", f"data.root={data_root}", *TINY,
                         "data.batch_size=2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=tool_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "x 2 processes" in proc.stdout
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["global_step"] == 2  # 8 images / (2 processes x 2 images)
    assert len(state["rng"]) == 2  # one generator state per rank
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if r["type"] == "eval"]
    assert len(evals) == 1 and 0.0 <= evals[0]["test"]["mAP"] <= 1.0
    # every test image was predicted once, half on each rank, gathered on rank 0
    assert "test: predictions for 4 images" in proc.stdout
    assert "occluded: predictions for 12 images" in proc.stdout


def test_erasing_on_the_device_trains_and_leaves_the_workers_alone(data_root, tmp_path):
    from detaug.config import load_config
    from detaug.pipeline import build_device_erasing, build_transforms

    overrides = ["augmentation.erasing.device=true", "augmentation.erasing.mode=i+ore"]
    cfg = load_config(overrides=overrides)
    assert [type(t).__name__ for t in build_transforms(cfg, train=True).transforms] == ["HorizontalFlip"]
    module = build_device_erasing(cfg)
    assert type(module).__name__ == "BatchedBoxAwareRandomErasing"
    summary = run(data_root, tmp_path / "dev", overrides=overrides)
    assert summary["stopped"] is None and 0.0 <= summary["metrics"]["test"]["mAP"] <= 1.0
    assert "device: true" in (tmp_path / "dev" / "config.yaml").read_text()
    # The device module erases the batch it is given.
    torch.manual_seed(0)
    images = [torch.ones(3, 40, 40), torch.ones(3, 40, 40)]
    targets = [{"boxes": torch.tensor([[2.0, 2, 30, 30]]), "labels": torch.tensor([1])}] * 2
    out, same = build_device_erasing(load_config(overrides=overrides + ["augmentation.erasing.object_p=1"]))(images, targets)
    assert same is targets and all((o != 1).any() for o in out)


def test_print_config_needs_no_data(tmp_path, capsys):
    # the VOC data is absent here; printing the resolved config must still work (docs/training.md)
    code = train_det.run(["--config", str(REPO / "configs" / "voc07_frcnn_r50_iore.yaml"), "--print-config",
                          "--output-dir", str(tmp_path / "never")])
    out = capsys.readouterr().out
    assert code == 0
    assert "name: voc07_frcnn_r50_iore" in out and "metric: voc07" in out and "mode: i+ore" in out
    assert not (tmp_path / "never").exists()


def test_config_presets_by_name(tmp_path, capsys):
    code = train_det.run(["--config", "synthetic_frcnn_small_ire", "--print-config"])
    out = capsys.readouterr().out
    assert code == 0 and "name: synthetic_frcnn_small_ire" in out and "mode: ire" in out
    code = train_det.run(["--config", "synthetic_frcnn_small_irre", "--output-dir", str(tmp_path / "never")])
    err = capsys.readouterr().err
    assert code == 2 and "unknown config preset 'synthetic_frcnn_small_irre'" in err
    assert "synthetic_frcnn_small_ire," in err and "voc07_frcnn_r50_iore" in err  # the valid names
    assert not (tmp_path / "never").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_a_config_error(data_root, tmp_path, capsys):
    out = tmp_path / "never"
    code = train_det.run(["--output-dir", str(out), "--set", f"data.root={data_root}", *TINY, "runtime.device=cuda"])
    err = capsys.readouterr().err
    assert code == 2 and "runtime.device: 'cuda' requested but CUDA is not available" in err
    assert "Traceback" not in err and not out.exists()


def test_eval_scalars_share_the_global_step_axis(data_root, tmp_path, monkeypatch):
    calls = []
    from detaug.engine import RunLogger

    real = RunLogger.log_metrics

    def spy(self, record, step=None):
        calls.append((record["type"], record.get("epoch"), step))
        return real(self, record, step)

    monkeypatch.setattr(RunLogger, "log_metrics", spy)
    run(data_root, tmp_path / "run", overrides=["schedule.epochs=2", "evaluation.interval=1"])  # 2 steps per epoch
    assert calls == [("train", 1, 2), ("eval", 1, 2), ("train", 2, 4), ("eval", 2, 4)]
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [(r["type"], r["epoch"]) for r in records] == [("train", 1), ("eval", 1), ("train", 2), ("eval", 2)]


def test_signal_during_the_final_evaluation_does_not_fail_a_finished_run(data_root, tmp_path, monkeypatch):
    from detaug.engine import loop

    real = loop.evaluate_sets

    def evaluate_then_signal(*a, **kw):
        os.kill(os.getpid(), signal.SIGTERM)  # caught by the tool's GracefulStop
        return real(*a, **kw)

    monkeypatch.setattr(loop, "evaluate_sets", evaluate_then_signal)
    out = tmp_path / "run"
    code = train_det.run(["--output-dir", str(out), "--set", f"data.root={data_root}", *TINY])
    assert code == 0
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert (state["epoch"], state["iteration"]) == (1, 0)  # training completed


# -- issue 12: a tool that answers at once and says things once ---------------------------------

@pytest.mark.parametrize("option", ["--help", "--version"])
def test_help_and_version_import_no_torch(option):
    code = (f"import sys\nfrom detaug.cli.train import run\ntry:\n    run([{option!r}])\nexcept SystemExit as exc:\n"
            "    print('exit', exc.code)\nprint('torch loaded:', 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=tool_env(), timeout=120)
    assert "exit 0" in proc.stdout and "torch loaded: False" in proc.stdout, proc.stdout + proc.stderr


def test_a_wrong_config_path_lists_the_presets_and_a_preset_file_name_works(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert train_det.run(["--config", "synthetic_frcnn_small_iore.yaml", "--print-config"]) == 0
    assert "name: synthetic_frcnn_small_iore" in capsys.readouterr().out
    assert train_det.run(["--config", "configs/synthetic_frcnn_small_iore.yml"]) == 2
    err = capsys.readouterr().err
    assert "config file not found: configs/synthetic_frcnn_small_iore.yml; presets: " in err
    assert "synthetic_frcnn_small_iore," in err and not (tmp_path / "runs").exists()


def test_a_finished_run_resumed_says_only_that_it_is_finished(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_det.run(["--output-dir", str(out), "--set", f"data.root={data_root}", *TINY]) == 0
    stdout = capsys.readouterr().out
    assert sum(line.startswith("split ") and "metric" in line for line in stdout.splitlines()) == 1  # one table
    before = (out / "checkpoint_last.pth").read_bytes()
    assert train_det.run(["--resume", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert stdout.strip().splitlines() == [f"{out / 'checkpoint_last.pth'}: this run has finished its 1 epochs; to "
                                           "train longer, resume with --set schedule.epochs=N (N > 1)"]
    assert (out / "checkpoint_last.pth").read_bytes() == before
    # its metrics.jsonl lost: the folder no longer proves that it finished, so a resume
    # evaluates the last checkpoint again (nothing is trained) and records it
    (out / "metrics.jsonl").unlink()
    assert train_det.run(["--resume", str(out)]) == 0
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["type"], r["epoch"]) for r in records] == [("eval", 1)]
    saved = load_checkpoint(out / "checkpoint_last.pth")["metrics"]["test"]["mAP"]  # the first evaluation's
    assert records[0]["test"]["mAP"] == pytest.approx(saved, abs=1e-9)
    assert (out / "checkpoint_last.pth").read_bytes() == before


# -- issue 10: the learning rate follows the global batch; nothing is chosen on test -------------

@pytest.fixture(scope="module")
def voc_layout(data_root):
    """The synthetic set's VOC-layout folder, as a stand-in for VOCdevkit/VOC2007."""
    from detaug.data import generate_synthetic

    info = generate_synthetic(data_root, seed=0, num_train=8, num_test=4)  # the set the other tests use
    return info.voc_root, list(info.classes)


def _voc(root, classes, *extra):
    """Overrides that point a VOC config at ``root`` and shrink its model to the tiny one."""
    return [f"data.train.0.root={root}", "data.train.0.split=train", f"data.test.0.root={root}",
            "data.test.0.split=test_occluded", f"data.classes=[{','.join(classes)}]", "data.workers=0",
            "model.name=fasterrcnn_small", "model.weights_backbone=null", "model.trainable_backbone_layers=null",
            *[t for t in TINY if t.startswith(("model.", "runtime.", "schedule.warmup"))], *extra]


def test_a_one_process_voc_run_scales_the_lr_to_its_batch(voc_layout, tmp_path, capsys):
    root, classes = voc_layout
    out = tmp_path / "voc"
    argv = ["--config", "voc07_frcnn_r50_baseline", "--output-dir", str(out), "--stop-after-iters", "1",
            "--set", *_voc(root, classes)]
    assert train_det.run(argv) == 0
    # optim.lr 0.01 is for 16 images per step; one process of data.batch_size 2 gets 0.01 * 2 / 16
    assert "lr 0.00125: optim.lr 0.01 is for 16 images per step, scaled to the global batch of 2" \
        in capsys.readouterr().out
    state = load_checkpoint(out / "checkpoint_last.pth")
    assert state["optimizer"]["param_groups"][0]["initial_lr"] == 0.01 * 2 / 16
    assert state["config"]["optim"]["lr"] == 0.01 and state["config"]["data"]["batch_size"] == 2


def test_the_best_checkpoint_is_chosen_on_validation_and_reported_on_test(voc_layout, tmp_path, monkeypatch):
    from detaug.engine import loop

    root, classes = voc_layout
    real = loop.evaluate_sets
    val_scores = iter([0.5, 0.2])  # validation says epoch 1 is the better one

    def evaluate_sets(model, sets, *args, **kwargs):
        if sets[0].name == "held_out":
            return {"held_out": {"mAP": next(val_scores)}}
        return real(model, sets, *args, **kwargs)

    monkeypatch.setattr(loop, "evaluate_sets", evaluate_sets)
    out = tmp_path / "val"
    summary = train_det.main(train_det.get_args_parser().parse_args(
        ["--config", "voc07_frcnn_r50_baseline", "--output-dir", str(out), "--set",
         *_voc(root, classes, "schedule.epochs=2", "evaluation.interval=1",
               f"data.val=[{{name: held_out, root: {root}, split: test}}]")]))
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [(r["type"], r["epoch"]) for r in records] == [("train", 1), ("val", 1), ("train", 2), ("val", 2),
                                                          ("eval", 1)]  # test once, at the end, at epoch 1
    assert summary["best"]["epoch"] == 1 and summary["checkpoint"] == str(out / "checkpoint_best.pth")
    best, last = load_checkpoint(out / "checkpoint_best.pth"), load_checkpoint(out / "checkpoint_last.pth")
    assert (best["epoch"], best["best"]["split"], last["epoch"]) == (1, "held_out", 2)
    # the reported test result is the best checkpoint's: --eval-only of it gives the same numbers
    again = train_det.main(train_det.get_args_parser().parse_args(
        ["--eval-only", "--checkpoint", str(out / "checkpoint_best.pth")]))
    same = json.dumps(again["metrics"]["voc07_test"], sort_keys=True)  # NaN == NaN for classes without objects
    assert same == json.dumps(summary["metrics"]["voc07_test"], sort_keys=True)
