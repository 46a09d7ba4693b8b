from .efficientnet_lite import EfficientNetLite
from .fast_data_preprocessor import FastSegDataPreProcessor
from .flip_tta import FlipTTA
from .voting_encoder_decoder import VotingEncoderDecoder, vote_foreground
from .unet_head import ResNetUNetHead, UNetHead

__all__ = ['EfficientNetLite', 'FastSegDataPreProcessor', 'FlipTTA',
           'ResNetUNetHead', 'UNetHead', 'VotingEncoderDecoder',
           'vote_foreground']
