"""`python -m bench audit`: what an audit costs. Salesforce: API calls and time for 50 checks over 10,000 and
100,000 emulated records (bench/audit_salesforce.py)."""

from __future__ import annotations

from bench.audit_salesforce import run

__all__ = ["run"]
