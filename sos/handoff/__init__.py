"""`sos handoff run`: deals that reached a handoff's stage become projects (Asana) or issues (Jira), each linked
back on its deal. tools.py holds what the tools share (the order, retries), asana.py and jira.py one tool each,
run.py the run (which deals, the claim that keeps two runs from handing one deal off twice)."""
