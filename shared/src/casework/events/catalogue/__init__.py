"""Payload models of every event on the platform, one module per bounded context.

Importing this package registers them all in `casework.events.registry.registry`. Payloads carry a
`patient_ref` (keyed HMAC), never an NHS number; a test walks every model to keep it so.
"""

from casework.events.catalogue import cdf, contract, ifr, mail, notification

__all__ = ["cdf", "contract", "ifr", "mail", "notification"]
