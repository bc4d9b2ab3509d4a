"""The apps form layers: a module imports only its own layer and those below, and no two modules import each other.

platform (alfa_platform) -> audit -> jobs -> corpus -> synthesis -> annotation -> dataversions -> training ->
evaluation.
Every import statement counts, including those inside functions (a lazy import is still a dependency).
"""

import itertools

import grimp
import pytest

LAYERS = ["alfa_platform", "audit", "jobs", "corpus", "synthesis", "annotation", "dataversions", "training",
          "evaluation"]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*LAYERS, include_external_packages=False)


def layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_no_module_imports_a_layer_above_its_own(graph):
    upward = sorted(f"{importer} imports {imported}" for importer in graph.modules
                    for imported in graph.find_modules_directly_imported_by(importer)
                    if layer(imported) > layer(importer))
    assert upward == []


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_no_two_modules_import_each_other_through_any_chain(graph):
    """A package and its own submodules may (an __init__ re-exporting them); nothing else closes a cycle."""
    cycles = []
    for importer in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(importer):
            if is_within(importer, imported) or is_within(imported, importer):
                continue
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain and not any(is_within(a, b) or is_within(b, a) for a, b in itertools.pairwise(chain)):
                cycles.append(" -> ".join([importer, *chain]))
    assert cycles == []
