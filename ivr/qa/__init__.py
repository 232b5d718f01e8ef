"""QA call flows: scripted calls in YAML, run in process or against a live server, with menu coverage."""
