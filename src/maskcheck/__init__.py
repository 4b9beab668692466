"""maskcheck: a linter for instance-segmentation datasets."""

from __future__ import annotations

__version__ = "0.1.0"

from maskcheck.api import lint
from maskcheck.model import Finding, Location, Report, Severity

__all__ = ["Finding", "Location", "Report", "Severity", "__version__", "lint"]
