from .cached_loading import CachedLoadAnnotations, CachedLoadImageFromFile
from .pets import PetsDataset, DatasetError

__all__ = ['PetsDataset', 'DatasetError', 'CachedLoadImageFromFile',
           'CachedLoadAnnotations']
