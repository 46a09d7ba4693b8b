from .pets import PetsDataset, DatasetError

__all__ = ['PetsDataset', 'DatasetError']
