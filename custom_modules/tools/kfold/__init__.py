"""``tools/kfold.py``: k-fold cross-validation with a probability ensemble.

Steps:

1. The training split (as the config selects it, ``indices`` included) is
   cut into k folds with a fixed seed, stratified by which pet each mask
   shows (cat / dog / both / none): :func:`stratified_folds`.
2. Fold j trains on the other folds and validates on fold j, through the
   same command line as any run (``tools/train.py``, one subprocess per
   fold, ClearML tasks tagged ``kfold-<config>``); a model on all the
   training images with the same schedule is trained as ``full``.
   ``--print-commands`` prints these commands instead (launch them in
   parallel, one per GPU, then run this tool again to evaluate).
3. On the test split (or val) it evaluates every fold model alone, the
   ensemble that averages their softmax probabilities before the argmax
   (and, with ``--tta``, the same with flip TTA) and the full model; it
   writes a per-class table and the worst-N overlap between folds.

Each fold's work dir gets ``kfold_job.json`` before it trains: the
fingerprint of the config its training builds (and its indices). A fold is
reused when it finished with the same fingerprint, resumed from its last
checkpoint when it was interrupted (SIGINT/SIGTERM to ``kfold.py`` go to
the fold, which saves one), and moved aside to ``<dir>.stale-<time>`` and
trained again when its fingerprint differs; ``--only-fold K`` retrains one
from the start. Only finished, matching folds are evaluated.
"""
from .cli import (FoldInterrupted, build_parser, evaluate_and_report,
                  identify_jobs, main, run_forwarding_signals, train_command)
from .evaluate import choose_split, eval_dataloader, evaluate_models
from .folds import (JOB_FILE, SPECIES, Job, check_folds_file,
                    config_changes, identity_config, job_record, pet_species,
                    plan_jobs, resolve_indices, stratified_folds,
                    training_pool)
from .report import (common_worst_grid, markdown_report, markdown_table,
                     results_table, worst_analysis)

__all__ = ['main', 'build_parser', 'train_command', 'evaluate_and_report',
           'identify_jobs', 'run_forwarding_signals', 'FoldInterrupted',
           'JOB_FILE', 'config_changes', 'identity_config', 'job_record',
           'choose_split', 'eval_dataloader', 'evaluate_models', 'SPECIES',
           'Job', 'check_folds_file', 'pet_species', 'plan_jobs',
           'resolve_indices', 'stratified_folds', 'training_pool',
           'common_worst_grid', 'markdown_report', 'markdown_table',
           'results_table', 'worst_analysis']
