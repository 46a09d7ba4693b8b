from .efficientnet_lite import EfficientNetLite
from .flip_tta import FlipTTA
from .foreground_vote import VotingEncoderDecoder, vote_foreground
from .unet_head import ResNetUNetHead, UNetHead

__all__ = ['EfficientNetLite', 'FlipTTA', 'ResNetUNetHead', 'UNetHead',
           'VotingEncoderDecoder', 'vote_foreground']
