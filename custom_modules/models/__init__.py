from .flip_tta import FlipTTA
from .resnet_unet_head import ResNetUNetHead

__all__ = ['FlipTTA', 'ResNetUNetHead']
