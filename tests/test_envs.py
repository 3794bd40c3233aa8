"""envs/dfim.yaml (for conda users) lists the same packages as pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def norm(req):
    name = re.split(r"[<>=!~ ]", req, maxsplit=1)[0]
    return name.lower().replace("_", "-"), req[len(name):].replace(" ", "")


def test_conda_env_matches_pip_dependencies():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((REPO / "envs" / "dfim.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pip = [p for p in pip if not p.startswith("-e")]
    assert dict(map(norm, pip)) == dict(map(norm, deps))


def test_config_readme_documents_the_schema():
    import importlib.util

    spec = importlib.util.spec_from_file_location("config_docs", REPO / "scripts" / "config_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (REPO / "config" / "README.md").read_text() == mod.render(), "run scripts/config_docs.py"
