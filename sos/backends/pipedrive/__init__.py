"""The Pipedrive backend: its connection (auth.py), HTTP client (client.py) and diagnostic codes (codes.py)."""
