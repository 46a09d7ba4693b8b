from .ce_dice_loss import CEDiceLoss, soft_dice_loss

__all__ = ['CEDiceLoss', 'soft_dice_loss']
