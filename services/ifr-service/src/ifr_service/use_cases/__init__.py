"""ifr-service's use cases: each applies the domain's rules to what it loads through `db/` and writes
the change (and emits its events) in the caller's unit of work; with `handlers/`, the only layer that
calls `uow.emit`. The routes (`api/`) parse, authorise and call one of them: the case actions through
their catalogue (`case_actions.py`, built on `action_base.py` and `workflow.py`)."""
