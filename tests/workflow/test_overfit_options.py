"""``--overfit-batch`` turns early stopping off unless ``--cfg-options``
says otherwise (docs/workflow.md: anything in --cfg-options wins)."""
from custom_modules.workflow import train

CONFIG = 'configs/pets/resnet18_unet.py'


def early_stopping_hooks(root, *options):
    args = train.build_parser().parse_args(
        [CONFIG, '--data-root', str(root), '--pretrained', 'none',
         '--no-clearml', '--overfit-batch', '2', '--work-dir', 'unused',
         *(['--cfg-options', *options] if options else [])])
    cfg = train.prepare_config(args)
    return cfg.early_stopping, [h for h in cfg.get('custom_hooks', [])
                                if h['type'] == 'EarlyStoppingHook']


def test_overfit_batch_turns_early_stopping_off_by_default(tiny_pets):
    early, hooks = early_stopping_hooks(tiny_pets)
    assert early['enable'] is False and hooks == []


def test_cfg_options_early_stopping_wins_over_overfit_batch(tiny_pets):
    early, hooks = early_stopping_hooks(
        tiny_pets, 'early_stopping.enable=True', 'early_stopping.patience=3')
    assert early['enable'] is True
    assert len(hooks) == 1 and hooks[0]['patience'] == 3
    assert hooks[0]['monitor'] == 'mJaccard'
