"""The design document's own scenario, end to end: 1,000 concurrent agent sessions of 10
LLM calls each, through agentqueue and through the document's architecture in one run.

``python -m bench.scenario``. The workload (``workload.py``), the providers' limits
(``limits.py``), agentqueue's run (``agentqueue_run.py``), the document's architecture
(``designdoc.py``, ``designdoc_run.py``) and the table (``report.py``) each say how they
are built; ``docs/benchmarks.md`` has a run's figures and how to read them.
"""
