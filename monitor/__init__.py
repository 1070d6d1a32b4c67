"""monitor: watch news and official feeds for defence-ministry meetings."""

__version__ = "0.1.0"
