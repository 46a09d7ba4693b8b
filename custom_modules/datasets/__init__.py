from .cached_loading import (IMAGE_LOADERS, MASK_LOADERS,
                             CachedLoadAnnotations, CachedLoadImageFromFile)
from .pets import PetsDataset, DatasetError

__all__ = ['PetsDataset', 'DatasetError', 'CachedLoadImageFromFile',
           'CachedLoadAnnotations', 'IMAGE_LOADERS', 'MASK_LOADERS']
