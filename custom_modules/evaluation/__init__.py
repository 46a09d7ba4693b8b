from .confusion import (areas_from_confusion, confusion_record,
                        format_confusion_table, row_normalised)
from .jaccard_metric import JaccardMetric, image_jaccard, scores_from_areas

__all__ = ['JaccardMetric', 'image_jaccard', 'scores_from_areas',
           'areas_from_confusion', 'row_normalised', 'format_confusion_table',
           'confusion_record']
