"""detaug's command-line tools, one module per command.

Each module has ``get_args_parser()``, ``main(args)`` (the work, raising
:class:`detaug.errors.UsageError` for bad input) and ``run(argv=None) -> int`` (the
console entry point: parse, run, print ``<prog>: error: ...`` and return 2 for input
errors; ``<prog>`` is the name the command was started by, as argparse names it: the
console script's or the script's). ``tools/*.py`` in a checkout are thin scripts over the same ``run``. Modules
import torch and the rest of detaug inside ``main``, so ``--help`` and ``--version``
answer at once.

========================  ==========================  ====================
console script            module                      script in a checkout
========================  ==========================  ====================
``detaug-train``          :mod:`detaug.cli.train`     ``tools/train_det.py``
``detaug-eval``           :mod:`detaug.cli.eval`      ``tools/eval_det.py``
``detaug-vis``            :mod:`detaug.cli.visualize` ``tools/visualize.py``
``detaug-occlusion``      :mod:`detaug.cli.occlusion` ``tools/occlusion_eval.py``
``detaug-study``          :mod:`detaug.cli.study`     ``tools/occlusion_study.py``
``detaug-compare``        :mod:`detaug.cli.compare`   ``tools/compare_runs.py``
========================  ==========================  ====================
"""
