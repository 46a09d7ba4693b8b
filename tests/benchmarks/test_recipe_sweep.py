"""benchmarks/recipe_sweep.py: variant parsing, score extraction, the
per-variant means; benchmarks/model_complexity.py: its counts."""
import json

import pytest

from benchmarks import recipe_sweep as sweep


def test_variant_words_give_name_iterations_and_options():
    assert sweep.parse_variant(['l1', 'iters=1400', 'a.b=1', 'c=(1,2)']) == \
        ('l1', 1400, ['a.b=1', 'c=(1,2)'])
    assert sweep.parse_variant(['base']) == ('base', None, [])


def test_only_keeps_the_named_variants_and_refuses_unknown_names():
    variants = [('a', 10, []), ('b', 20, ['x=1']), ('c', None, [])]
    assert sweep.select(variants, []) == variants
    assert sweep.select(variants, ['c', 'a']) == [variants[0], variants[2]]
    with pytest.raises(SystemExit, match=r'--only d: no such --variant '
                                         r'\(known: a, b, c\)'):
        sweep.select(variants, ['a', 'd'])


def test_scores_pick_mdice_mjaccard_and_class_dice_at_any_depth():
    results = {'metrics': {'mDice': 84.123, 'mJaccard': 74.0, 'aAcc': 97.0,
                           'Dice.dog': 70.55, 'Jaccard.dog': 55.0},
               'provenance': {'tta': 'ms'}}
    assert sweep.scores(results) == {'mDice': 84.12, 'mJaccard': 74.0,
                                     'Dice.dog': 70.55}


def test_summary_means_each_test_over_the_seeds():
    rows = [dict(variant='a', seed=42, iters=10, plain={'mDice': 80.0},
                 ms={'mDice': 84.0}),
            dict(variant='a', seed=1, iters=10, plain={'mDice': 70.0},
                 ms={'rc': 1}),
            dict(variant='b', seed=42, iters=5, plain={'mDice': 60.0})]
    out = sweep.summary(rows, ['plain', 'ms'])
    assert out['a']['plain_mean'] == 75.0
    assert out['a']['ms'] == [84.0, None] and out['a']['ms_mean'] == 84.0
    assert out['b']['ms_mean'] is None and out['b']['seeds'] == [42]


def test_val_curve_reads_every_validation(tmp_path):
    scalars = tmp_path / '20260101_000000' / 'vis_data' / 'scalars.json'
    scalars.parent.mkdir(parents=True)
    scalars.write_text('\n'.join(json.dumps(r) for r in [
        {'loss': 1.0, 'step': 10}, {'val/mDice': 50.0, 'step': 10},
        {'val/mDice': 60.0, 'step': 20}]))
    assert sweep.val_curve(str(tmp_path)) == [(10, 50.0), (20, 60.0)]


@pytest.mark.parametrize('config', ['configs/pets/cpu_pretrained.py',
                                    'configs/pets/effnet_lite_unet.py'])
def test_complexity_counts_the_built_model(config):
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from benchmarks.model_complexity import complexity
    from custom_modules.tools.inference import init_scope
    row = complexity(config)
    cfg = Config.fromfile(config)
    init_scope(cfg)
    cfg.model.backbone.pop('init_cfg', None)
    model = MODELS.build(cfg.model)
    assert row['params_M'] == round(
        sum(p.numel() for p in model.parameters()) / 1e6, 2)
    size = cfg.model.data_preprocessor.size
    assert row['input'] == f'{size[0]}x{size[1]}'
    assert row['gflops'] > 0.5


def test_complexity_grows_with_the_input():
    """FLOPs are traced at the config's input size: 320 costs about
    (320/256)^2 of 256 for the same model."""
    from benchmarks.model_complexity import complexity
    at_320 = complexity('configs/pets/cpu_pretrained.py')
    lite0 = complexity('configs/pets/effnet_lite_unet.py')
    assert at_320['input'] == '320x320' and lite0['input'] == '256x256'
    assert at_320['gflops'] > lite0['gflops']
