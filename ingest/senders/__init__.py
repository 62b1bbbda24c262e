"""Who may send and how their deliveries are checked: signatures.py (every signature scheme,
total verifiers and the signers the simulator and tests use) and sources.py (the sources built
from the settings: a route and a verifier each). Keep this file free of imports."""
