"""One-cycle schedules that survive the safe checkpoint loader.

mmengine 0.10's ``OneCycleLR`` keeps its annealing function as a bound
method in ``__dict__``, which ``state_dict()`` returns whole, so every
checkpoint of a one-cycle run pickles the scheduler object itself and the
safe loader (rightly) refuses it. The patched ``state_dict`` leaves that
entry out (``__init__`` rebuilds it from ``anneal_strategy``), and
``load_state_dict`` ignores it in older checkpoints.
"""
from __future__ import annotations

__all__ = ['install']


def install() -> None:
    """Patch ``OneCycleParamScheduler`` once."""
    from mmengine.optim.scheduler.param_scheduler import \
        OneCycleParamScheduler as OneCycle
    if getattr(OneCycle, '_pets_state_fix', False):
        return
    state_dict, load_state_dict = OneCycle.state_dict, OneCycle.load_state_dict

    def plain_state_dict(self) -> dict:
        state = state_dict(self)
        state.pop('anneal_func', None)  # a bound method: rebuilt by __init__
        return state

    def tolerant_load_state_dict(self, state: dict) -> None:
        state = {k: v for k, v in state.items() if k != 'anneal_func'}
        load_state_dict(self, state)

    OneCycle.state_dict = plain_state_dict
    OneCycle.load_state_dict = tolerant_load_state_dict
    OneCycle._pets_state_fix = True

