"""``--overfit-batch`` turns early stopping off unless ``--cfg-options``
says otherwise (docs/workflow.md: anything in --cfg-options wins)."""
from custom_modules.tools import train

CONFIG = 'configs/pets/resnet18_unet.py'


def early_stopping_hooks(root, *options):
    """The config's ``default_hooks.early_stopping`` and every early-stopping
    hook the run would have (enabled or not)."""
    args = train.build_parser().parse_args(
        [CONFIG, '--data-root', str(root), '--pretrained', 'none',
         '--no-clearml', '--overfit-batch', '2', '--work-dir', 'unused',
         *(['--cfg-options', *options] if options else [])])
    cfg = train.prepare_config(args)
    hooks = [*cfg.default_hooks.values(), *cfg.get('custom_hooks', [])]
    return cfg.default_hooks.early_stopping, [
        h for h in hooks if h and 'EarlyStopping' in h['type']]


def test_overfit_batch_turns_early_stopping_off_by_default(tiny_pets):
    early, hooks = early_stopping_hooks(tiny_pets)
    assert early['enable'] is False and hooks == [early]


def test_cfg_options_early_stopping_wins_over_overfit_batch(tiny_pets):
    early, hooks = early_stopping_hooks(
        tiny_pets, 'default_hooks.early_stopping.enable=True',
        'default_hooks.early_stopping.patience=3')
    assert early['enable'] is True
    assert hooks == [early] and hooks[0]['patience'] == 3
    assert hooks[0]['monitor'] == 'mJaccard'
