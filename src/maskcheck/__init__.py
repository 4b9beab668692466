"""maskcheck: a linter for instance-segmentation datasets."""

from __future__ import annotations

__version__ = "0.1.0"

from maskcheck.api import lint
from maskcheck.model import Finding, Location, Report, Severity
from maskcheck.probe import probe_dataset, probe_transform

__all__ = ["Finding", "Location", "Report", "Severity", "__version__", "lint", "probe_dataset",
           "probe_transform"]
