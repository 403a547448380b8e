"""dalpsr_data: degradation, restoration prompts, sharded builds and captions for DaLPSR."""

__version__ = "0.1.0"
