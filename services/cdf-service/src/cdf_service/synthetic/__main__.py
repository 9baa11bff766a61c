"""`python -m cdf_service.synthetic`: write synthetic national CDF data, or load it into a running service.

python -m cdf_service.synthetic files --out .local/cdf-demo --trusts 5 --seed 1 [--sact-version 3]
python -m cdf_service.synthetic demo --base-url http://127.0.0.1:8002 --secrets .local/secrets.json
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Annotated

import typer

from cdf_service.sact_schema import CURRENT, schema_for
from cdf_service.synthetic.national import TRUSTS, TrustPlan, build_trust
from cdf_service.synthetic.populate import populate
from cdf_service.synthetic.sact_files import write_sact_csv

app = typer.Typer(help=__doc__, no_args_is_help=True)


@app.command()
def files(
    out: Annotated[Path, typer.Option(help="folder to write into")],
    trusts: Annotated[int, typer.Option(min=1, max=len(TRUSTS))] = 5,
    cdf_patients: Annotated[int, typer.Option(help="CDF courses per trust")] = 40,
    routine_patients: Annotated[int, typer.Option(help="non-CDF courses per trust")] = 200,
    seed: int = 1,
    sact_version: Annotated[str, typer.Option(help="SACT version of the files: 4 (v4.0) or 3 (v3.0)")] = str(
        CURRENT.version
    ),
) -> None:
    """Per trust a SACT CSV in the national format; clinicians.json and applications.json beside them."""
    schema = schema_for(sact_version)
    if schema is None:
        raise typer.BadParameter(f"not a SACT version: {sact_version!r} (4 or 3)", param_hint="--sact-version")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    plan = TrustPlan(cdf_patients=cdf_patients, routine_patients=routine_patients)
    seen: set[str] = set()
    clinicians, applications = [], []
    for trust in TRUSTS[:trusts]:
        synthetic = build_trust(trust, plan, rng, seen)
        with (out / f"{trust}-sact.csv").open("w", encoding="utf-8", newline="") as handle:
            rows, _ = write_sact_csv(handle, synthetic.courses, plan.as_of, rng, schema=schema)
        clinicians += [vars(c) for c in synthetic.clinicians]
        applications += synthetic.applications()
        typer.echo(f"{trust}: {rows} {schema.title} rows, {len(synthetic.applications())} applications")
    (out / "clinicians.json").write_text(json.dumps(clinicians, indent=1))
    (out / "applications.json").write_text(json.dumps(applications, indent=1))


@app.command()
def demo(
    base_url: Annotated[str, typer.Option(help="the cdf service")] = "http://127.0.0.1:8002",
    secrets: Annotated[Path, typer.Option(help="the stack's secrets.json (JWT secret)")] = Path(".local/secrets.json"),
    trusts: Annotated[int, typer.Option(min=1, max=len(TRUSTS))] = 3,
    cdf_patients: int = 30,
    routine_patients: int = 150,
    seed: int = 1,
) -> None:
    """Load the national list, clinicians, approvals and one SACT file per trust into a running service."""
    jwt_secret = json.loads(secrets.read_text())["jwt_secret"]
    summary = populate(base_url, jwt_secret, TRUSTS[:trusts], TrustPlan(cdf_patients, routine_patients), seed)
    typer.echo(json.dumps(summary, indent=1))


if __name__ == "__main__":
    app()
