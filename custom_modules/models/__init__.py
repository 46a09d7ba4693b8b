from .flip_tta import FlipTTA
from .foreground_vote import VotingEncoderDecoder, vote_foreground
from .resnet_unet_head import ResNetUNetHead

__all__ = ['FlipTTA', 'ResNetUNetHead', 'VotingEncoderDecoder',
           'vote_foreground']
