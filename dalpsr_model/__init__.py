"""dalpsr_model: IRPAD, the DaLPSR ControlNet and their trainers."""

__version__ = "0.1.0"
