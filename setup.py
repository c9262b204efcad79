"""Packaging beyond what pyproject.toml can say: the hardware profiles live at the top level of
the repository (``hardware_profiles/``, where the design puts them) and are built into the wheel
as ``neurosim/hardware_profiles/*.toml``, so a normal install has them too."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["neurosim*"]) + ["neurosim.hardware_profiles"],
    package_dir={"neurosim.hardware_profiles": "hardware_profiles"},
    package_data={
        "neurosim.hardware_profiles": ["*.toml"],
        "neurosim.report": ["*.json"],
        "neurosim.tasks": ["*.txt"],  # charlm's bundled text
    },
)
