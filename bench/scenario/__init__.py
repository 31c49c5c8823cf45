"""The design document's own scenario, end to end: 1,000 concurrent agent sessions of 10
LLM calls each, through agentqueue and through the document's architecture in one run.

``python -m bench.scenario``. Everything shares one machine's cores: the simulator plays
the providers' own hardware, so it runs at ``nice -5`` where allowed (a provider's
latency does not depend on how busy our machine is); the drivers play the users' and
run at normal priority, as does the path a person waits on — for agentqueue a gateway
process serving the chats alone (``--shared-gateway``: the one that serves tasks and
sessions too), for the design document its web process; each architecture's queue
workers run at ``nice 10`` — what separate pods with CPU requests of their own give on
Kubernetes. Without it, on 2 cores, every figure of the interactive path measures the
background workers' CPU instead.

Each chat turn keeps the gateway's ``Server-Timing`` header: the table ends with the
slowest turns and where their time went (cache, budget, a failed attempt, the provider,
or outside the gateway).

The workload (``workload.py``), the providers' limits (``limits.py``), agentqueue's run
(``agentqueue_run.py``), the document's architecture (``designdoc.py``,
``designdoc_run.py``) and the table (``report.py``) each say how they are built;
``docs/benchmarks.md`` has a run's figures and how to read them.
"""
