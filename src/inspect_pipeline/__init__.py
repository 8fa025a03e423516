"""inspect-pipeline: the weekly school safety-inspection loop of a district education bureau."""

__version__ = "0.1.0"
