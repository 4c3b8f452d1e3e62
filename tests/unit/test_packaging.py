"""The wheel ships every module of the browser client, and the Voila labextension."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_every_client_module_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    modules = {f"js/{path.name}" for path in (ROOT / "js").glob("*.js")}
    assert modules <= set(shipped), sorted(modules - set(shipped))
    for source in modules:
        assert shipped[source] == f"jupyter_comm_bridge/static/{Path(source).name}"


def test_the_voila_labextension_is_installed_where_voila_looks_with_the_package_version() -> None:
    import json

    from jupyter_comm_bridge import __version__

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shared = config["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    package = json.loads((ROOT / "js" / "voila" / "package.json").read_text())
    assert shared["js/voila"] == f"share/jupyter/voila/labextensions/{package['name']}"
    assert package["version"] == __version__
