"""The staff and trust web console (backend-for-frontend over the platform's APIs)."""
