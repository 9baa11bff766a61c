"""The contract screens: contracts per provider and year with their schedules, service lines, activity
plans, CQUIN and budget lines; creating a contract; variations (agreed with the version read, viewed as
the contract stood on any date); derogations with their action plans and status changes."""

from web_console.contracts.contracts import router as contracts_router
from web_console.contracts.derogations import router as derogations_router
from web_console.contracts.variations import router as variations_router

routers = [contracts_router, variations_router, derogations_router]
