"""dialflow: a self-hosted engine for outbound calling workflows."""

__version__ = "0.1.0"
