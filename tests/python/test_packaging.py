"""The installed package: version from Cargo, typing files, public names."""

from __future__ import annotations

import pathlib
import re

import pouw_netops

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_runs_against_the_installed_package_not_the_source_tree():
    assert "site-packages" in pouw_netops.__file__


def test_version_comes_from_cargo():
    cargo = (ROOT / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert pouw_netops.__version__ == version


def test_typing_files_are_shipped():
    pkg = pathlib.Path(pouw_netops.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_native.pyi").exists()


def test_public_names():
    for name in pouw_netops.__all__:
        assert hasattr(pouw_netops, name), name
    assert pouw_netops.NetOpsError.__bases__ == (Exception,)
    for cls in (pouw_netops.InvalidArgumentError, pouw_netops.DecodeError):
        assert issubclass(cls, pouw_netops.NetOpsError) and issubclass(cls, ValueError)
    assert issubclass(pouw_netops.NotFoundError, LookupError)
    assert issubclass(pouw_netops.CapacityError, pouw_netops.NetOpsError)
    assert not issubclass(pouw_netops.CapacityError, ValueError)
