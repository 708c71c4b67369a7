"""The weekly rhythm's reports (sos review, sos forecast, sos trace): each reads a target only through the History
protocol (sos.backends.base) and the resolved Model, and returns one JSON form that every rendering is made from
(sos.render.reports)."""
