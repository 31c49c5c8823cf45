# Run inside an image (python -c): import every service, then list what was imported from
# a .py whose bytecode is missing or stale. The root filesystem is read-only at run time,
# so such a module would be compiled again at every start of every process.
import importlib.util
import os
import sys

import agentqueue.gateway.app
import agentqueue.limiter.app
import agentqueue.operator.runner
import agentqueue.simulator.app
import agentqueue.worker.runner  # noqa: F401

stale = []
for module in list(sys.modules.values()):
    source = getattr(module, "__file__", None) or ""
    if not source.endswith(".py"):
        continue
    cached = importlib.util.cache_from_source(source)
    if not os.path.exists(cached) or os.path.getmtime(cached) < os.path.getmtime(source):
        stale.append(source)
print(f"   ok  bytecode: {len(sys.modules)} modules imported as uid {os.getuid()}", end="")
if stale:
    print(f"; without bytecode: {len(stale)}", *stale[:20], sep="\n     ")
    sys.exit(1)
print(", all from bytecode")
