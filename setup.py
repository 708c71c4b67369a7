"""Ships the top-level schemas/ and blueprints/ inside the wheel, as sos/schemas and sos/starters.

Everything else about the package is in pyproject.toml; sos.resources finds these folders
in a checkout and in an installed wheel alike.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACKAGE_DATA = {"schemas": "sos/schemas", "blueprints": "sos/starters"}


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        for source, destination in PACKAGE_DATA.items():
            self.copy_tree(source, str(Path(self.build_lib) / destination))


setup(cmdclass={"build_py": BuildWithData})
