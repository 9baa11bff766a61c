import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the platform samples (CDF list, clinician, application) and the contract-service test helpers
sys.path.insert(0, str(ROOT / "tests" / "platform"))
sys.path.insert(0, str(ROOT / "services" / "contract-service" / "tests" / "integration"))
