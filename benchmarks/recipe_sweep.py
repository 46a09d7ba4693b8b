"""Train variants of a config for fixed iterations over several seeds, then
test each final checkpoint plain and with TTA; print one JSON table.

    python benchmarks/recipe_sweep.py configs/pets/cpu_pretrained.py \
        --data-root ../shared/data/pets --seeds 42 1 --jobs 2 \
        --variant lite0_256 iters=2400 \
        --variant lite2_256 iters=1900 model.backbone.arch=lite2 ...

Each ``--variant NAME [iters=N] KEY=VALUE ...`` is one recipe: the config
with those ``--cfg-options``, trained ``N`` iterations (``tools/train.py
--max-iters N``: the whole schedule rescaled) once per seed. Give each
variant the iterations that its budget buys on the machine you care about
(``benchmarks/model_speed.py`` measures img/s per variant): the scores
depend on the iterations, not on the clock, so the runs can go side by side
(``--jobs``) or on a faster machine. Every final checkpoint is then tested
on the val split with ``tools/test.py`` for each ``--tests`` entry:
``plain``, ``flip`` (``--tta``), ``ms`` (``--tta ms``) and ``novote``
(``--cfg-options model.fg_vote=None``: each pixel's own class).

``--only NAME ...`` runs some of the variants (a later ``--seeds`` wins,
so a script's list can be reused to add a seed to a few candidates).

Writes ``<work-dir>/<variant>_s<seed>/`` (the runs) and
``<work-dir>/sweep.json``, refreshed after every run; prints that table.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: test name -> extra arguments of tools/test.py
TESTS = {
    'plain': [],
    'flip': ['--tta', 'flip'],
    'ms': ['--tta', 'ms'],
    'novote': ['--cfg-options', 'model.fg_vote=None'],
}
SUFFIX = {'plain': '', 'flip': '_tta', 'ms': '_tta_ms', 'novote': ''}


def parse_variant(words):
    """``NAME [iters=N] KEY=VALUE ...`` -> (name, iters or None, options)."""
    name, options, iters = words[0], [], None
    for word in words[1:]:
        if word.startswith('iters='):
            iters = int(word.split('=', 1)[1])
        else:
            options.append(word)
    return name, iters, options


def select(variants, only):
    """The variants named in ``only`` (all when it is empty), in their order;
    an unknown name is a ``SystemExit`` naming the known ones."""
    if not only:
        return variants
    known = [name for name, _, _ in variants]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise SystemExit(f'recipe_sweep.py: --only {" ".join(unknown)}: no '
                         f'such --variant (known: {", ".join(known)})')
    return [v for v in variants if v[0] in only]


def scores(results: dict) -> dict:
    """mDice, mJaccard and per-class Dice of a results JSON (any nesting)."""
    flat = {}

    def walk(d):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v)
            elif isinstance(v, (int, float)) and (
                    k.split('/')[-1] in ('mDice', 'mJaccard')
                    or k.split('/')[-1].startswith('Dice.')):
                flat[k.split('/')[-1]] = round(float(v), 2)
    walk(results)
    return flat


def val_curve(work_dir: str) -> list:
    """(iteration, val mDice) of every validation in a training run."""
    points = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'val/mDice' in row:
                    points.append((row['step'], row['val/mDice']))
    return points


def run(cmd, log_path, env):
    with open(log_path, 'a') as log:
        log.write('$ ' + ' '.join(cmd) + '\n')
        log.flush()
        return subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT,
                               cwd=ROOT, env=env)


def one_run(args, name, iters, options, seed, env):
    """Train one (variant, seed) and test its final checkpoint."""
    work = osp.join(args.work_dir, f'{name}_s{seed}')
    os.makedirs(work, exist_ok=True)
    log = osp.join(work, 'sweep.log')
    row = dict(variant=name, seed=seed, iters=iters, options=options)
    common = ['--data-root', args.data_root, '--no-clearml']
    if args.labels:
        common += ['--labels', args.labels]
    t0 = time.time()
    cmd = [sys.executable, 'tools/train.py', args.config, '--seed',
           str(seed), '--work-dir', work] + common
    if iters:
        cmd += ['--max-iters', str(iters)]
    if options:
        cmd += ['--cfg-options'] + options
    row['train_rc'] = run(cmd, log, env)
    row['train_s'] = round(time.time() - t0, 1)
    row['val_curve'] = val_curve(work)
    last = osp.join(work, 'last_checkpoint')
    if row['train_rc'] or not osp.isfile(last):
        return row
    with open(last) as f:
        checkpoint = f.read().strip()
    row['checkpoint'] = osp.relpath(checkpoint, work) \
        if osp.isabs(checkpoint) else checkpoint
    for test in args.tests:
        test_dir = osp.join(work, f'test_{test}')
        extra = list(TESTS[test])
        if options:  # the variant's own model and pipelines
            if extra[:1] == ['--cfg-options']:
                extra = extra + options
            else:
                extra += ['--cfg-options'] + options
        t1 = time.time()
        rc = run([sys.executable, 'tools/test.py', args.config, checkpoint,
                  '--work-dir', test_dir] + common + extra, log, env)
        path = osp.join(test_dir, f'test_results{SUFFIX[test]}.json')
        entry = dict(rc=rc, test_s=round(time.time() - t1, 1))
        if rc == 0 and osp.isfile(path):
            with open(path) as f:
                entry.update(scores(json.load(f)))
        row[test] = entry
    return row


def summary(rows, tests):
    """Mean over seeds of each test's mDice, per variant."""
    out = {}
    for row in rows:
        v = out.setdefault(row['variant'], dict(iters=row['iters'],
                                                seeds=[]))
        v['seeds'].append(row['seed'])
        for test in tests:
            value = (row.get(test) or {}).get('mDice')
            v.setdefault(test, []).append(value)
    for v in out.values():
        for test in tests:
            vals = [x for x in v[test] if x is not None]
            v[f'{test}_mean'] = round(sum(vals) / len(vals), 2) \
                if vals else None
    return out


def main(argv) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--data-root', required=True)
    p.add_argument('--labels', help='mask folder: labels or labels_fixed')
    p.add_argument('--variant', nargs='+', action='append', required=True,
                   metavar='NAME [iters=N] KEY=VALUE',
                   help='one recipe (repeat the flag for more)')
    p.add_argument('--only', nargs='+', default=[], metavar='NAME',
                   help='run only these variants (e.g. to add a seed to some)')
    p.add_argument('--seeds', nargs='+', type=int, default=[42, 1])
    p.add_argument('--tests', nargs='+', default=['plain', 'flip', 'ms'],
                   choices=sorted(TESTS))
    p.add_argument('--jobs', type=int, default=1,
                   help='runs side by side (each gets --threads threads)')
    p.add_argument('--threads', type=int, default=None,
                   help='torch threads per run (default: cores / jobs)')
    p.add_argument('--work-dir', default=osp.join('work_dirs', 'sweep'))
    args = p.parse_args(argv)
    variants = select([parse_variant(words) for words in args.variant],
                      args.only)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONUNBUFFERED='1')
    os.makedirs(args.work_dir, exist_ok=True)
    # seed-major: the first seed of every variant comes first
    order = [(v, s) for s in args.seeds for v in variants]
    rows = []
    table_path = osp.join(args.work_dir, 'sweep.json')

    def done(future):
        rows.append(future.result())
        with open(table_path, 'w') as f:
            json.dump(dict(config=args.config, rows=rows,
                           summary=summary(rows, args.tests)), f, indent=1)

    with ThreadPoolExecutor(args.jobs) as pool:
        for (name, iters, options), seed in order:
            pool.submit(one_run, args, name, iters, options, seed,
                        env).add_done_callback(done)
    with open(table_path) as f:
        print(f.read())
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
