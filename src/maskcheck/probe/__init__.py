"""Probe a training pipeline: run the user's own transform or Dataset on inputs and check
that labels, boxes and masks stay in step. Findings use the MC6xx codes (rules/PROBE.md)
and come back in the same Report as lint's."""

from maskcheck.probe.codes import CODES, ProbeCode
from maskcheck.probe.dataset import TARGETS, probe_dataset
from maskcheck.probe.inputs import Sample, make_sample
from maskcheck.probe.options import STYLES
from maskcheck.probe.target import TargetError
from maskcheck.probe.transform import probe_transform

__all__ = ["CODES", "STYLES", "TARGETS", "ProbeCode", "Sample", "TargetError", "make_sample",
           "probe_dataset", "probe_transform"]
