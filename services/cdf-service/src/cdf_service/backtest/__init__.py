"""The forecast backtest: a synthetic national history (`history`), what was known at each cut-off
(`known`), the run over every cut-off (`run`), its report (`report`); `python -m cdf_service.backtest`."""
