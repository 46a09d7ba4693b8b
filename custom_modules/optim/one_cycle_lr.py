"""mmengine's one-cycle lr schedule, with checkpoints the safe loader reads."""
from __future__ import annotations

from mmengine.optim.scheduler import OneCycleLR as _MMEngineOneCycleLR
from mmseg.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(_MMEngineOneCycleLR):
    """mmengine's ``OneCycleLR`` (same arguments, same learning rates) whose
    state leaves out its annealing function.

    mmengine 0.10 keeps that function as a bound method in ``__dict__``,
    which its ``state_dict()`` returns whole, so every checkpoint of a
    one-cycle run would pickle the scheduler object itself, and the safe
    checkpoint loader (``weights_only=True``) rightly refuses it.
    ``__init__`` rebuilds the function from ``anneal_strategy``, so it is
    not needed in the state; :meth:`load_state_dict` ignores it in older
    checkpoints.

    Registered in mmseg's registry under mmengine's name: configs with
    ``default_scope = 'mmseg'`` and ``type='OneCycleLR'`` build this class
    (mmengine's own stays untouched for everyone else).
    """

    def state_dict(self) -> dict:
        state = super().state_dict()
        state.pop('anneal_func', None)  # a bound method: rebuilt by __init__
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict({k: v for k, v in state_dict.items()
                                 if k != 'anneal_func'})
