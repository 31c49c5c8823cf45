"""One line about a finished task: GET /v1/tasks/{id}'s JSON (argv[1]) -> who answered."""

import json
import sys

view = json.loads(sys.argv[1])
result = view.get("result") or {}
text = " ".join(str(result.get("text", "")).split())
print(
    f"{result.get('provider')}/{result.get('model')}, {len(view.get('calls', []))} call(s), "
    f"{view.get('usage', {}).get('output_tokens', '?')} output tokens, "
    f"${view.get('cost_usd', 0):.6f}: {text[:60]!r}"
)
