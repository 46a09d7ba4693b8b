from .clearml_backend import PetsClearMLVisBackend, clearml_mode

__all__ = ['PetsClearMLVisBackend', 'clearml_mode']
