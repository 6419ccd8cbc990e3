"""Robustness suites: fixed-magnitude corruptions at graded severities, written in the spec language.

A suite maps each corruption to one spec per severity, severity 1 first. A severity is a fixed magnitude
(ranges ``[v, v]``, ``p: 1``); a random sign per sample is a ``one_of`` of the +v and the -v op:

    rotate:
      - - one_of: [{rotate: {degrees: [10, 10], p: 1}}, {rotate: {degrees: [-10, -10], p: 1}}]
      - - one_of: [{rotate: {degrees: [20, 20], p: 1}}, {rotate: {degrees: [-20, -20], p: 1}}]
    noise:
      - [noise: {std: [0.05, 0.05], p: 1}]
      - [noise: {std: [0.10, 0.10], p: 1}]

Flattened, a suite is an ordered list of cells, one shifted test set each, named ``rotate_1``, ``rotate_2``,
``noise_1``, ... A corruption given one spec instead of a list of specs is a single cell named after the
corruption itself (``rotated: [{rotate: {degrees: 20}}]`` is the cell ``rotated``), as ``test_shifts`` were
written before suites. The built-in suites (``images``, ``audio``) ship in ``blackmagic/suites/``.

    >>> suite = load_suite("images")
    >>> suite.cells[0].name, suite.cells[0].corruption, suite.cells[0].severity
    ('rotate_1', 'rotate', 1)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from .params import SpecError
from .pipeline import build

SUITES = Path(__file__).parents[1] / "suites"
DEFAULT_FOR_KIND = {"image": "images", "audio": "audio"}  # a datamodule's kind -> its built-in suite
CLEAN = "clean"  # what reports call the unshifted test set; no corruption may take the name


@dataclass(frozen=True)
class Cell:
    """One shifted test set: a corruption at one severity (1 = mildest) and the spec that makes it."""

    corruption: str
    severity: int
    spec: list
    graded: bool = True  # False: the corruption's only spec, named after the corruption alone

    @property
    def name(self) -> str:
        return f"{self.corruption}_{self.severity}" if self.graded else self.corruption

    @property
    def where(self) -> str:
        return f"{self.corruption}, severity {self.severity}" if self.graded else self.corruption


@dataclass(frozen=True)
class Suite:
    """The ordered cells of a suite, and the file it came from (``None`` for a mapping)."""

    cells: tuple[Cell, ...]
    source: str | None = None

    @property
    def shifts(self) -> dict[str, list]:
        """Cell name -> spec, in suite order (the form ``test_shifts`` used before suites)."""
        return {c.name: c.spec for c in self.cells}

    @property
    def corruptions(self) -> list[str]:
        return list(dict.fromkeys(c.corruption for c in self.cells))

    def where(self, cell: Cell) -> str:
        """The cell, as an error message names it."""
        return f"{cell.where} (suite {self.source})" if self.source else cell.where

    def validate(self, sample_rate: int | None = None) -> str | None:
        """Build every cell's spec; return the one kind of input (image, audio) the suite corrupts.

        Raises:
            SpecError: naming the corruption, the severity and the engine's complaint (op and key).
        """
        domains: dict[str, str] = {}
        for cell in self.cells:
            try:
                domain = build(cell.spec, seed=0, sample_rate=sample_rate).domain  # a seed: no global draw
            except SpecError as e:
                raise SpecError(f"{self._label()}: {cell.where}: {e}") from None
            domains.setdefault(domain, cell.corruption)
        if len(domains) > 1:
            mixed = ", ".join(f"{d} ('{c}')" for d, c in domains.items())
            raise SpecError(f"{self._label()}: corrupts more than one kind of input: {mixed}; one suite, one kind")
        return next(iter(domains), None)

    def _label(self) -> str:
        return f"suite {self.source}" if self.source else "suite"


def builtin_suites() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SUITES.glob("*.yaml"))}


def default_suite(kind: str) -> Path:
    """The built-in suite for a datamodule's ``kind`` (``image`` or ``audio``)."""
    if kind not in DEFAULT_FOR_KIND:
        raise ValueError(f"suite: no built-in suite for data of kind {kind!r}; give one of {sorted(DEFAULT_FOR_KIND)}")
    return builtin_suites()[DEFAULT_FOR_KIND[kind]]


def load_suite(source: Any, sample_rate: int | None = None) -> Suite:
    """``read_suite``, then ``Suite.validate``: every spec built, errors naming corruption, severity and key."""
    suite = read_suite(source)
    suite.validate(sample_rate)
    return suite


def read_suite(source: Any) -> Suite:
    """A suite from a path to its YAML, a built-in name (``images``, ``audio``), a mapping, or a ``Suite``.

    Only the layout is checked here (corruption -> a spec or a list of specs); the specs themselves are
    checked when they are built (``Suite.validate``, or the datamodule's test pipelines).
    """
    if isinstance(source, Suite):
        return source
    path = None
    if isinstance(source, (str, Path)):
        path = builtin_suites().get(str(source), Path(source))
        source = _read_yaml(path)
    label = f"suite {path}" if path else "suite"
    if not isinstance(source, Mapping):
        raise SpecError(f"{label}: expected a mapping of corruption -> [spec at severity 1, spec at severity 2, "
                        f"...], got {type(source).__name__}")
    cells: list[Cell] = []
    for corruption, value in source.items():
        cells += _cells(label, corruption, value)
    names = [c.name for c in cells]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SpecError(f"{label}: more than one shifted test set is named {', '.join(twice)}; rename a corruption")
    return Suite(tuple(cells), str(path) if path else None)


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise SpecError(f"suite: no such file: {path}; give a suite YAML or a built-in suite "
                        f"({', '.join(builtin_suites())})")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"suite {path}: not valid YAML: {e}") from None


def _cells(label: str, corruption: Any, value: Any) -> list[Cell]:
    """One corruption's cells: one per spec in a list of specs, or a single one for a plain spec."""
    if not isinstance(corruption, str) or not corruption:
        raise SpecError(f"{label}: corruption names are non-empty strings, got {corruption!r}")
    if corruption == CLEAN:
        raise SpecError(f"{label}: '{CLEAN}' names the unshifted test set; call the corruption something else")
    layout = "one spec (a list of {op: {params}}) or a list of specs, one per severity"
    if not isinstance(value, list) or not value:
        raise SpecError(f"{label}: corruption '{corruption}': expected {layout}, got {value!r}")
    if all(isinstance(item, dict) for item in value):
        return [Cell(corruption, 1, value, graded=False)]
    cells = []
    for severity, spec in enumerate(value, 1):
        if not isinstance(spec, list) or not spec:
            raise SpecError(f"{label}: corruption '{corruption}', severity {severity}: expected a non-empty list of "
                            f"{{op: {{params}}}} items ({layout}), got {spec!r}")
        cells.append(Cell(corruption, severity, spec))
    return cells
