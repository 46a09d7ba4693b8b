"""Train and inference img/s per config: project runner vs bare PyTorch loop.

    python benchmarks/throughput.py --data-root ../shared/data/pets
    python benchmarks/throughput.py configs/pets/cpu_fast.py \
        --data-root ../shared/data/pets --profile

Each config is measured in its own process (peak memory is per config);
then this process measures the matmul peak in each training dtype and
relates every row's training GFLOP/s to it. Updates the rows of the
configs measured in benchmarks/results/throughput.json (other rows are
kept) and writes the table between the ``throughput`` markers of
docs/benchmarks.md; prints the table. Definitions:
:mod:`benchmarks.lib.throughput`.

``--profile`` measures nothing and writes nothing: per config it prints the
operators with the most self CPU time over a few bare training steps
(``torch.profiler``, :func:`benchmarks.lib.step_cost.profile_train_steps`).
"""
import argparse
import glob
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custom_modules.common.errors import run_cli  # noqa: E402


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='*', help='default: configs/pets/*.py')
    p.add_argument('--data-root', help='dataset folder (img/, labels/)')
    p.add_argument('--clearml', action='store_true',
                   help='keep the ClearML backend in the runner (offline '
                   'without a server)')
    p.add_argument('--json', default=str(ROOT / 'benchmarks' / 'results' /
                                         'throughput.json'))
    p.add_argument('--doc', default=str(ROOT / 'docs' / 'benchmarks.md'),
                   help="markdown file to update ('' to skip)")
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='override config keys for every config measured, '
                   'e.g. train_dataloader.num_workers=2')
    p.add_argument('--block', type=int, default=8, metavar='N',
                   help='timed iterations per block (runner and bare loop '
                   'take turns every N iterations)')
    p.add_argument('--blocks', type=int, default=5, metavar='N',
                   help='timed blocks per side; the ratio is their median')
    p.add_argument('--profile', action='store_true',
                   help='print the top operators (self CPU time) of a few '
                   'bare training steps per config instead of measuring')
    p.add_argument('--profile-steps', type=int, default=3, metavar='N',
                   help='training steps profiled (after one warm-up step)')
    p.add_argument('--one', help=argparse.SUPPRESS)  # child process mode
    return p.parse_args(argv)


def main(argv) -> int:
    args = parse(argv)
    from benchmarks.lib import throughput as tp
    if args.one:
        cfg = tp.prepared_config(args.one, args.data_root, args.clearml,
                                 cfg_options=args.cfg_options)
        name = ' '.join([Path(args.one).stem, *args.cfg_options])
        row = dict(config=name, **tp.measure_config(
            cfg, block=args.block, blocks=args.blocks))
        tp.dump(row, args.json)
        return 0
    configs = args.configs or sorted(glob.glob(str(ROOT / 'configs' / 'pets'
                                                   / '*.py')))
    if args.profile:
        return profile(args, configs)
    rows = []
    for i, config in enumerate(configs, 1):
        print(f'[{i}/{len(configs)}] {config}', flush=True)
        with tempfile.NamedTemporaryFile(suffix='.json') as out:
            cmd = [sys.executable, __file__, '--one', config, '--json',
                   out.name, '--block', str(args.block), '--blocks',
                   str(args.blocks)] + (['--data-root', args.data_root]
                                if args.data_root else []) + \
                (['--clearml'] if args.clearml else []) + \
                (['--cfg-options', *args.cfg_options] if args.cfg_options
                 else [])
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            rows.append(json.load(open(out.name)))
        print(json.dumps(rows[-1]), flush=True)
    peaks = tp.matmul_peaks([r['train_dtype'] for r in rows])
    machine = tp.machine_info(peaks)
    rows = [dict(tp.with_peak(r, peaks), cpu=tp.cpu_label(machine))
            for r in rows]
    # rows of configs not measured this time are kept from the last run;
    # those from before the CPU column get the CPU of the file they were in
    measured = {r['config'] for r in rows}
    kept = []
    if Path(args.json).is_file():
        old = json.loads(Path(args.json).read_text())
        kept = [dict(r, cpu=r.get('cpu') or tp.cpu_label(old['machine']))
                for r in old.get('rows', []) if r['config'] not in measured]
        rows = sorted(rows + kept, key=lambda r: r['config'])
    result = dict(machine=machine, rows=rows,
                  command='python benchmarks/throughput.py ' + ' '.join(argv))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    tp.dump(result, args.json)
    from benchmarks.lib.hook_costs import hook_table
    from benchmarks.lib.phase_costs import phase_table
    table = tp.markdown_table(rows) + '\nHooks and data-loader waits, per ' \
        'timed training iteration:\n\n' + hook_table(rows)
    phased = [r for r in rows if r.get('phase_ms')]
    if phased:
        table += ('\nThe parts of a training step, ms per step, runner '
                  'and bare loop in the same blocks:\n\n' +
                  phase_table(phased))
    print(table)
    if args.doc:
        header = (tp.machine_header(result['machine']) +
                  f"\nCommand: `{result['command']}`" +
                  (f" (rows kept from earlier runs, on the CPU each names: "
                   f"{', '.join(r['config'] for r in kept)})" if kept else '')
                  + '\n\n')
        tp.replace_section(args.doc, 'throughput', header + table)
    return 0


def profile(args, configs) -> int:
    """Print each config's profile table (nothing is written)."""
    from benchmarks.lib import throughput as tp
    from benchmarks.lib.step_cost import profile_train_steps
    for config in configs:
        cfg = tp.prepared_config(config, args.data_root, args.clearml,
                                 cfg_options=args.cfg_options)
        print(f'{config}: {args.profile_steps} bare training steps, batch '
              f'{cfg.train_dataloader.batch_size}', flush=True)
        print(profile_train_steps(cfg, steps=args.profile_steps), flush=True)
    return 0


if __name__ == '__main__':
    run_cli(main)
