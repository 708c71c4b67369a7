"""`sos handoff run`: deals that reached a handoff's stage become projects (Asana), issues (Jira) or tasks
(ClickUp), each linked back on its deal. tools.py holds what the tools share (the order, retries), asana.py,
jira.py and clickup.py one tool each, connect.py their tokens,
run.py the run (which deals, the claim that keeps two runs from handing one deal off twice)."""
