"""Cross-service tests: `samples` (requests shared by several test folders) is importable from here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
