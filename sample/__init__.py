"""Sample raw files for the landing zone: a generator calibrated on the public CRM case, and defects on
purpose. Its files follow the bronze sources' raw contracts."""

from sample.defects import inject_defects
from sample.generator import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate", "inject_defects"]
