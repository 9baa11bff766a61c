"""cdf-service's use cases: each function applies the domain's rules to what it loads through `db/`,
writes the change and emits its events in the caller's unit of work (or, for the background rounds:
the lapse sweep, the forecaster, SACT matching in batches, in units of work of its own). The routes
(`api/`) parse, authorise and call one of them; the SACT worker (`sact/`) calls the matching, lapsing,
re-forecasting and finishing of a submission. Only here and in handlers is `uow.emit` called."""
