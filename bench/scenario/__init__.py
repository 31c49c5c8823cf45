"""The design document's own scenario, end to end: 1,000 concurrent agent sessions of 10
LLM calls each, through agentqueue and through the document's architecture in one run.

``python -m bench.scenario``. Everything shares one machine's cores: the simulator plays
the providers' own hardware and the driver the users', so both run at normal priority,
as does the path a person waits on (agentqueue's gateway; the design document's web
process), while each architecture's queue workers run at ``nice 10`` — what separate
pods with CPU requests of their own give on Kubernetes. Without it, on 2 cores, every
figure of the interactive path measures the background workers' CPU instead.

The workload (``workload.py``), the providers' limits (``limits.py``), agentqueue's run
(``agentqueue_run.py``), the document's architecture (``designdoc.py``,
``designdoc_run.py``) and the table (``report.py``) each say how they are built;
``docs/benchmarks.md`` has a run's figures and how to read them.
"""
