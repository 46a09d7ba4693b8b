from .cached_loading import (IMAGE_LOADERS, MASK_LOADERS,
                             CachedLoadAnnotations, CachedLoadImageFromFile)
from .fast_packing import PACKERS, FastPackSegInputs
from .fast_photometric import FastPhotoMetricDistortion
from .fast_random_crop import FastRandomCrop
from .pets import PetsDataset, DatasetError

__all__ = ['PetsDataset', 'DatasetError', 'CachedLoadImageFromFile',
           'CachedLoadAnnotations', 'FastPackSegInputs', 'FastRandomCrop',
           'FastPhotoMetricDistortion',
           'IMAGE_LOADERS', 'MASK_LOADERS', 'PACKERS']
