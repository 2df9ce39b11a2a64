"""``dlcore.evidence``: what a training run leaves for a person (and a report tool) to look at.

run_dir (the layout of a run directory and the metrics file's crash rules), utilisation (the
background CPU/RSS/GPU sampler), plots (the PNGs; needs matplotlib, imported only by plotting) and
recorder (RunEvidence, which the trainers drive through dlcore.training.fit).
"""
from .recorder import RunEvidence
from .run_dir import read_metrics, reconcile_metrics
from .utilisation import UtilisationSampler, read_utilisation

__all__ = ["RunEvidence", "UtilisationSampler", "read_metrics", "read_utilisation", "reconcile_metrics"]
