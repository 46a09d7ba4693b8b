from .clearml_backend import PetsClearMLVisBackend, clearml_mode
from .pets_visualizer import PetsVisualizer

__all__ = ['PetsClearMLVisBackend', 'PetsVisualizer', 'clearml_mode']
