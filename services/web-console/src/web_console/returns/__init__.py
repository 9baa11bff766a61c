"""The drug expenditure screens: returns (upload, list, a return's reconciliation and lines), the
validation-query worklist and a query's page with both sides' forms, and the challenged-value report."""

from web_console.returns.challenged_value import router as challenged_value_router
from web_console.returns.drug_returns import router as drug_returns_router
from web_console.returns.validation_queries import router as validation_queries_router

routers = [drug_returns_router, validation_queries_router, challenged_value_router]
