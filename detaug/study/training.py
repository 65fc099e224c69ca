"""The study's training phase: which runs exist, their state, and training them as subprocesses.

Every run is one call of the training tool, ``python -m detaug.cli.train``, in its own
folder ``<out>/runs/<scheme>_s<seed>``. A run is *finished* when its last evaluation is
at the configured number of epochs and its last checkpoint exists (it is reused), *to
resume* when it has a checkpoint but is not finished (``--resume``), and *new*
otherwise. A folder trained with another config than the one asked for is an error, never
silently reused. :func:`train_runs` keeps ``jobs`` runs going at once, each with
``threads`` torch threads (``OMP_NUM_THREADS``): two one-thread runs use two cores better
than one two-thread run, as a small detector's CPU ops do not scale to two threads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from detaug.errors import UsageError
from detaug.study.runs import flat_config
from detaug.study.schemes import Scheme

__all__ = ["FINISHED", "NEW", "RESUME", "StudyRun", "plan_runs", "run_state", "train_command", "train_runs"]

NEW, RESUME, FINISHED = "new", "resume", "finished"
LAST = "checkpoint_last.pth"  # the training tool's name (detaug.engine.LAST), without importing torch here
#: Each run folder's record of the code that trained it (one entry per training session).
PROVENANCE = "provenance.json"


@dataclass(frozen=True)
class StudyRun:
    """One training run of the study: a scheme, a training seed and its folder."""

    scheme: Scheme
    seed: int
    folder: Path

    @property
    def name(self) -> str:
        return f"{self.scheme.name}_s{self.seed}"

    def overrides(self, common: Sequence[str] = ()) -> List[str]:
        """``--set`` values: the study's common ones, the scheme's, then the seed."""
        return [*common, *self.scheme.overrides, f"seed={self.seed}"]


def plan_runs(schemes: Sequence[Scheme], out: Path) -> List[StudyRun]:
    """All runs, seed by seed (seed 0 of every scheme first), so that a study stopped
    half-way has the same seeds for every scheme.

    Examples:
        >>> from detaug.study.schemes import Scheme
        >>> runs = plan_runs([Scheme("baseline", "b", seeds=2), Scheme("IRE", "i", seeds=1)], Path("s"))
        >>> [r.name for r in runs], str(runs[0].folder)
        (['baseline_s0', 'ire_s0', 'baseline_s1'], 's/runs/baseline_s0')
    """
    top = max(s.seeds for s in schemes)
    return [StudyRun(s, seed, Path(out) / "runs" / f"{s.name}_s{seed}")
            for seed in range(top) for s in schemes if seed < s.seeds]


def resolved_config(run: StudyRun, common: Sequence[str] = ()):
    """The config the run is trained with (raises ConfigError for a bad preset or override)."""
    from detaug.config import load_config

    return load_config(run.scheme.preset, run.overrides(common) + [f"output_dir={run.folder}"])


def _last_eval_epoch(folder: Path) -> Optional[int]:
    from detaug.study.runs import load_run

    try:
        return load_run(folder).epoch
    except (FileNotFoundError, ValueError):
        return None


def read_provenance(folder: Path) -> List[Dict[str, Any]]:
    """The training sessions recorded in ``<folder>/provenance.json`` (empty if none)."""
    try:
        data = json.loads((Path(folder) / PROVENANCE).read_text())
    except (OSError, ValueError):
        return []
    sessions = data.get("sessions") if isinstance(data, dict) else None
    return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []


def environment() -> Dict[str, Any]:
    """What besides the code can change a run's floats: the CPU, the core count and the
    numeric libraries' versions (two runs of one commit and config on two machines of one
    workplace trained different weights; docs/study/regimes/REGIMES.md).

    Examples:
        >>> sorted(environment())
        ['cpu', 'cpus', 'numpy', 'python', 'torch', 'torchvision']
    """
    import platform
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for name in ("torch", "torchvision", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(), **versions}


def record_provenance(run: StudyRun, state: str, cmd: Sequence[str]) -> None:
    """Add this session (commit, dirty flag, code hash, the machine and library versions,
    state, command) to the run's record."""
    from detaug.io import atomic_write_text
    from detaug.provenance import source_revision

    sessions = read_provenance(run.folder)
    sessions.append(dict(source_revision(), environment=environment(), state=state,
                         started=time.strftime("%Y-%m-%d %H:%M:%S"), command=[str(c) for c in cmd]))
    run.folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run.folder / PROVENANCE, json.dumps({"run": run.name, "sessions": sessions}, indent=1))


def _check_code(run: StudyRun) -> None:
    """Refuse to continue or reuse a run trained by other detaug code (another code hash)."""
    from detaug.provenance import code_hash

    hashes = sorted({str(s.get("code_hash")) for s in read_provenance(run.folder)})
    if hashes != [code_hash()]:
        what = f"code {', '.join(hashes)}" if hashes else "code that recorded no provenance"
        raise UsageError(f"{run.folder} was trained by other detaug {what} (this is {code_hash()}); "
                         "pass --allow-other-code to reuse it anyway (the report lists each run's commits), "
                         "or delete the folder to retrain it")


def run_state(run: StudyRun, wanted: Any, allow_other_code: bool = False) -> str:
    """:data:`NEW`, :data:`RESUME` or :data:`FINISHED` for ``run`` trained with config ``wanted``.

    Raises:
        UsageError: the folder holds a run with another config (the differences are listed),
            or one trained by other code (unless ``allow_other_code``).
    """
    from detaug.safe_yaml import YAMLInputError, read_yaml

    saved = run.folder / "config.yaml"
    if saved.is_file():
        # Only the keys the run was trained with: a key added to the schema since then did
        # not exist for it (its behaviour was the old one, which the training tool keeps).
        try:
            trained = read_yaml(saved) or {}
        except YAMLInputError as exc:
            raise UsageError(f"{saved} is not a training config ({exc}); delete {run.folder} to retrain that "
                             "run, or choose another --out") from None
        if not isinstance(trained, dict):
            raise UsageError(f"{saved} is not a training config (not a mapping); delete {run.folder} to retrain "
                             "that run, or choose another --out")
        trained = flat_config(trained)
        wanted_flat = flat_config(wanted)
        diffs = [f"{k}: {trained[k]!r} -> {wanted_flat.get(k)!r}" for k in sorted(trained) if trained[k] != wanted_flat.get(k)]
        if diffs:
            raise UsageError(f"{run.folder} holds a run trained with another config ({'; '.join(diffs[:4])}"
                             f"{'; ...' if len(diffs) > 4 else ''}); delete that folder or choose another --out")
    if not (run.folder / LAST).is_file():
        return NEW
    if not allow_other_code:
        _check_code(run)
    epoch = _last_eval_epoch(run.folder)
    return FINISHED if epoch is not None and epoch >= int(wanted.schedule.epochs) else RESUME


def train_command(run: StudyRun, state: str, common: Sequence[str] = (), device: str = "auto") -> List[str]:
    """The training tool's command line for a new or interrupted run."""
    cmd = [sys.executable, "-m", "detaug.cli.train", "--device", device]
    if state == RESUME:
        return cmd + ["--resume", str(run.folder)]
    return cmd + ["--config", run.scheme.preset, "--output-dir", str(run.folder), "--set", *run.overrides(common)]


class TrainingFailed(RuntimeError):
    """A training run exited with an error (the message names its log)."""


@dataclass
class Job:
    """A run to train now: its state before starting and its command."""

    run: StudyRun
    state: str
    cmd: List[str]


def read_ledger(path: Path) -> Dict[str, Any]:
    """``<out>/timings.json``: run name -> wall minutes spent training it, over all invocations."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _record(path: Path, name: str, entry: Dict[str, Any]) -> None:
    from detaug.io import atomic_write_text

    ledger = read_ledger(path)
    item = ledger.setdefault(name, {"minutes": 0.0, "sessions": []})
    item["minutes"] = round(item["minutes"] + entry["minutes"], 3)
    item["sessions"].append(entry)
    atomic_write_text(path, json.dumps(ledger, indent=1))


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler, ``kill``) stops the study as Ctrl-C does: runs save and stop."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start(job: Job, threads: int, log_dir: Path) -> tuple:
    record_provenance(job.run, job.state, job.cmd)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log_dir.mkdir(parents=True, exist_ok=True)
    logfile = open(log_dir / f"{job.run.name}.log", "a")  # noqa: SIM115 - closed in _finish
    logfile.write(f"\n$ {' '.join(job.cmd)}\n")
    logfile.flush()
    proc = subprocess.Popen(job.cmd, stdout=logfile, stderr=subprocess.STDOUT, env=env)
    return proc, job, time.time(), logfile


def _finish(entry: tuple, ledger: Path, threads: int, jobs: int) -> Dict[str, Any]:
    proc, job, started, logfile = entry
    logfile.close()
    record = {"state": job.state, "minutes": round((time.time() - started) / 60, 3), "returncode": proc.returncode,
              "threads": threads, "jobs": jobs, "ended": time.strftime("%Y-%m-%d %H:%M:%S")}
    _record(ledger, job.run.name, record)
    return record


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text().splitlines()[-lines:])
    except OSError:
        return ""


def train_runs(todo: Sequence[Job], jobs: int, threads: int, out: Path,
               log: Callable[[str], None] = print) -> None:
    """Train ``todo`` with ``jobs`` subprocesses at once, ``threads`` torch threads each.

    Each run's output goes to ``<out>/logs/<run>.log``; its wall time is added to
    ``<out>/timings.json``. On Ctrl-C or SIGTERM the running runs are asked to stop
    (they save a checkpoint, to be resumed by the next invocation) and
    ``KeyboardInterrupt`` is raised once they have.

    Raises:
        TrainingFailed: a run failed; the runs still going are finished first, no new
            one is started.
    """
    pending, running, failed = list(todo), [], []
    log_dir, ledger = Path(out) / "logs", Path(out) / "timings.json"
    done, total, t0 = 0, len(pending), time.time()

    def ready() -> Optional[Job]:
        """The first pending job whose pretraining run is neither pending nor running."""
        waiting = {j.run.scheme.label for j in pending} | {e[1].run.scheme.label for e in running}
        return next((j for j in pending if j.run.scheme.after not in waiting), None)

    with _sigterm_as_interrupt():
        try:
            while running or (pending and not failed):
                while pending and len(running) < jobs and not failed and ready() is not None:
                    job = ready()
                    pending.remove(job)
                    entry = _start(job, threads, log_dir)
                    running.append(entry)
                    log(f"start {entry[1].run.name} ({entry[1].state}, {threads} thread(s)): log {log_dir / entry[1].run.name}.log")
                for entry in [e for e in running if e[0].poll() is not None]:
                    running.remove(entry)
                    record = _finish(entry, ledger, threads, jobs)
                    done += 1
                    if record["returncode"] != 0:
                        failed.append(entry[1].run.name)
                        log(f"FAILED {entry[1].run.name} (exit {record['returncode']}):\n{_tail(log_dir / f'{entry[1].run.name}.log')}")
                    else:
                        left = (time.time() - t0) / done * (total - done) / 60
                        log(f"done {entry[1].run.name} in {record['minutes']:.1f} min ({done}/{total}; "
                            f"about {left:.0f} min left at this pace)")
                if running:
                    time.sleep(0.5)
        except KeyboardInterrupt:
            for proc, *_ in running:
                proc.send_signal(signal.SIGTERM)  # graceful in the training tool, even after a Ctrl-C
            for entry in running:
                entry[0].wait()
                _finish(entry, ledger, threads, jobs)
            log(f"interrupted: {len(running)} run(s) saved a checkpoint; run the same command to resume")
            raise
    if failed:
        raise TrainingFailed(f"{len(failed)} run(s) failed: {', '.join(failed)}; see {log_dir}")
