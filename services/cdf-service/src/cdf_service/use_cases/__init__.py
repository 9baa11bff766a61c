"""cdf-service's use cases: each function applies the domain's rules to what it loads through `db/`,
writes the change and emits its events in the caller's unit of work. The routes (`api/`) parse,
authorise and call one of them."""
