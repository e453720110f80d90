"""deidlint: find and repair de-identification traces in radiology-report datasets."""

__version__ = "0.1.0"
