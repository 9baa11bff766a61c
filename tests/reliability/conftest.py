import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# the IFR test helpers (ifr_http) live with the service's own tests, the contract ones (contract_fixtures) too
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "ifr-service" / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "contract-service" / "tests" / "integration"))
