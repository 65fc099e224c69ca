"""What a study invocation will do: the runs, their state, the commands, and the cost estimate."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from detaug.errors import UsageError
from detaug.records import append_line
from detaug.study.schemes import DEFAULT_SCHEMES, Scheme, check_schemes, load_schemes
from detaug.study.training import FINISHED, Job, StudyRun, plan_runs, resolved_config, run_state, train_command


@dataclass
class StudyAgenda:
    """The study's runs and what is left to do.

    Attributes:
        out: the study folder.
        schemes: the schemes, in table order.
        runs: every run of the matrix.
        configs: run name -> the config it is trained with.
        states: run name -> ``new``, ``resume`` or ``finished``.
        todo: the runs to train now, with their commands.
        common: the ``--set`` overrides every run shares.
    """

    out: Path
    schemes: Sequence[Scheme]
    runs: List[StudyRun]
    configs: Dict[str, Any]
    states: Dict[str, str]
    todo: List[Job] = field(default_factory=list)
    common: Sequence[str] = ()

    @property
    def finished(self) -> List[StudyRun]:
        return [r for r in self.runs if self.states[r.name] == FINISHED]


def cpu_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def select_schemes(schemes_file: Optional[str], only: Optional[Sequence[str]],
                   max_seeds: Optional[int], out: Path = Path("runs/study")) -> List[Scheme]:
    """The matrix: the default or a YAML file's, restricted to ``only``, seeds capped at ``max_seeds``.

    Raises:
        UsageError: an unknown label in ``only``, or ``max_seeds < 1``.
    """
    schemes = list(load_schemes(schemes_file, out) if schemes_file else DEFAULT_SCHEMES)
    if only:
        labels = [s.label for s in schemes]
        unknown = [o for o in only if o not in labels]
        if unknown:
            raise UsageError(f"--only: unknown scheme(s) {unknown}; valid: {labels}")
        schemes = [s for s in schemes if s.label in only]
        # a scheme whose reference is left out is still trained; it has no paired difference
        schemes = [s if s.reference in only else replace(s, reference=s.label) for s in schemes]
        missing = sorted({s.after for s in schemes if s.after and s.after not in only})
        if missing:
            raise UsageError(f"--only: these schemes need the pretraining {missing}: add it to --only")
    if max_seeds is not None:
        if max_seeds < 1:
            raise UsageError(f"--seeds must be >= 1, got {max_seeds}")
        schemes = [replace(s, seeds=min(s.seeds, max_seeds)) for s in schemes]
    return list(check_schemes(schemes))


def make_plan(out: Path, schemes_file: Optional[str], only: Optional[Sequence[str]], max_seeds: Optional[int], *,
              common: Sequence[str], device: str, allow_other_code: bool = False) -> StudyAgenda:
    """Resolve every run's config, check it (presets, overrides, ``augmentation.extra``) and
    find each run's state, before anything is trained.

    Raises:
        UsageError: bad schemes or options; ConfigError: a config that cannot be built.
    """
    from detaug.pipeline import build_transforms

    schemes = select_schemes(schemes_file, only, max_seeds, out)
    runs = plan_runs(schemes, out)
    configs, states, checked = {}, {}, set()
    for run in runs:
        cfg = resolved_config(run, common)
        if run.scheme.label not in checked:  # augmentation entries fail here, not hours later
            build_transforms(cfg, train=True)
            checked.add(run.scheme.label)
        configs[run.name], states[run.name] = cfg, run_state(run, cfg, allow_other_code)
    todo = [Job(r, states[r.name], train_command(r, states[r.name], common, device))
            for r in runs if states[r.name] != FINISHED]
    return StudyAgenda(Path(out), schemes, runs, configs, states, todo, tuple(common))


def logger(path: Path) -> Callable[[str], None]:
    """Print ``[study HH:MM:SS] message`` and append it to ``path``."""
    def log(message: str) -> None:
        line = f"[study {time.strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        append_line(path, line)

    return log


def measured_scale(plan: StudyAgenda) -> Optional[float]:
    """How much longer (> 1) or shorter this study's runs took than the cost model says:
    their wall time (over ``timings.json``, shared by the runs trained at once) over the
    modelled time. None before a run has been trained to the end here in one go."""
    from detaug.study.cost import run_seconds
    from detaug.study.training import read_ledger

    ledger = read_ledger(plan.out / "timings.json")
    actual = modelled = 0.0
    for run in plan.finished:
        sessions = (ledger.get(run.name) or {}).get("sessions", [])
        if len(sessions) == 1 and sessions[0].get("returncode") == 0:
            jobs = int(sessions[0].get("jobs", 1))
            actual += 60 * sessions[0]["minutes"] / jobs
            modelled += run_seconds(plan.configs[run.name], jobs) / jobs
    return actual / modelled if modelled else None


def describe(plan: StudyAgenda, jobs: int, threads: int, eval_checkpoints: int = 0, eval_images_per_run: int = 0) -> str:
    """The matrix, each scheme's state and the estimated cost, as plain text."""
    from detaug.study.cost import estimate

    rows = [("scheme", "preset", "overrides", "seeds", "compared with", "finished/resume/new")]
    for s in plan.schemes:
        states = [plan.states[r.name] for r in plan.runs if r.scheme.label == s.label]
        counts = "/".join(str(states.count(k)) for k in ("finished", "resume", "new"))
        rows.append((s.label, s.preset, " ".join(s.overrides) or "-", str(s.seeds),
                     "-" if s.reference == s.label else s.reference, counts))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    scale = measured_scale(plan)
    est = estimate(plan.configs, [j.run.name for j in plan.todo], eval_checkpoints, eval_images_per_run, jobs=jobs,
                   scale=scale or 1.0)
    basis = (f"detaug.study.cost.MEASURED x {scale:.2f}, the ratio this study's runs took so far" if scale
             else "detaug.study.cost.MEASURED, 2 free cores; +-50 %")
    lines += ["", f"{len(plan.runs)} runs in {plan.out / 'runs'}: {len(plan.finished)} finished, "
                  f"{sum(j.state == 'resume' for j in plan.todo)} to resume, {sum(j.state == 'new' for j in plan.todo)} new; "
                  f"{jobs} at once, {threads} torch thread(s) each",
              f"common overrides: {' '.join(plan.common)}",
              f"estimated wall time: training {est['train_min']:.0f} min, evaluation at most {est['eval_min']:.0f} "
              f"min (scores already in <out>/eval are not recomputed), total {est['total_min'] / 60:.1f} h "
              f"(basis: {basis})"]
    return "\n".join(lines)
