"""Triage, with no Textual: what a runbook says and what oncall reads live for each of its steps.

`runbook` the model parsed from Markdown, `lint` its problems, `selectors` the pods a section is about,
`commands/` the classifier (one module per program), `plans` each step's and cause's reads, `registry` the
table from read name to source call, `shaping` what an answer looks like as evidence, and `runner` the
loop that reads a section's evidence again and again for the checklist screen.
"""
