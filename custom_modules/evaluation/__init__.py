from .jaccard_metric import JaccardMetric, image_jaccard, scores_from_areas

__all__ = ['JaccardMetric', 'image_jaccard', 'scores_from_areas']
