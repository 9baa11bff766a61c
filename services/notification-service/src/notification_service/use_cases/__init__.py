"""notification-service's use cases: what changes state and emits events, in the caller's unit of work
(the inbound message's screening and storing, the outcome of a send, a template's new version). The
routes (`api/`), the event handlers (`handlers/`), the sender (`sending/`) and the inbound gateway
(`gateway/`) call them; only here and in handlers is `uow.emit` called."""
