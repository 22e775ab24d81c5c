"""Training and evaluation of every model, with MLflow tracking. Feeds `models/`; the serving path
never imports this package."""
