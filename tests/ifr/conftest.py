import sys
from pathlib import Path

# the IFR test helpers (ifr_http, ifr_samples) live with the service's own tests
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "ifr-service" / "tests"))
