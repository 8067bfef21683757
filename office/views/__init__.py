"""The office's pages under /manage/ (会务): one module per concern, each with its own
`urlpatterns`, joined in office/urls.py. Thin: forms are parsed here, every change is one call
of a service (hearings, voting, chamber), which checks, audits and publishes."""
