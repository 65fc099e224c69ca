"""The occlusion study: train a matrix of schemes x seeds (x regimes), score every run with
:mod:`detaug.robustness`, and report paired differences (``detaug-study``, ``detaug-compare``).

The matrix, as data: :mod:`~detaug.study.schemes`. What an invocation will do:
:mod:`~detaug.study.agenda` (:class:`~detaug.study.agenda.StudyAgenda`), the training runs
and their folders: :mod:`~detaug.study.training`, the time estimate:
:mod:`~detaug.study.cost`, the scoring phase, the lock and the outputs:
:mod:`~detaug.study.harness`. Statistics: :mod:`~detaug.study.stats`; the regime
analysis: :mod:`~detaug.study.regimes` and :mod:`~detaug.study.regime_report`. Outputs:
:mod:`~detaug.study.results` (CSV), :mod:`~detaug.study.tables` (markdown),
:mod:`~detaug.study.plot`, :mod:`~detaug.study.report` (``STUDY.md``). Finished run folders
(``detaug-compare``): :mod:`~detaug.study.runs`.
"""
