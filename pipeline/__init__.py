"""earlywarn: an early-warning dissatisfaction detector and complaint case tracker."""

__version__ = "0.1.0"
