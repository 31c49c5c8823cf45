"""The simulator's modules import one another without a cycle, even a deferred one.

grimp (import-linter's graph) counts imports inside functions and under TYPE_CHECKING
too: a cycle hidden in a function is still a cycle, waiting for the next refactor.
"""

import grimp


def test_no_import_cycle_among_the_simulators_modules() -> None:
    graph = grimp.build_graph("agentqueue")
    modules = {m for m in graph.modules if m.startswith("agentqueue.simulator.")}
    cycles = [
        (importer, *back)
        for importer in sorted(modules)
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & modules)
        if (back := graph.find_shortest_chain(importer=imported, imported=importer))
    ]
    assert cycles == []


def test_provider_names_sit_in_a_leaf() -> None:
    graph = grimp.build_graph("agentqueue")
    assert graph.find_modules_directly_imported_by("agentqueue.simulator.providers") == set()
