"""The datasets this project declares: one folder each under ``datasets/`` (README, "Add a dataset").

Discovery and the checks that need more than the pure loader (``dataset_etl.declaration``): every
Spark SQL expression of the outputs parses (sqlglot, Spark dialect), and the recipe is one DataBrew
accepts (``dap.databrew_reference``). The stacks and ``dap`` load datasets only through here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dataset_etl.declaration import DECLARATION_FILE, Dataset, DeclarationError, load_dataset

from stacks.config import DEFAULT_DATASETS_DIR, PROJECT_ROOT


def dataset_folders(root: Path = DEFAULT_DATASETS_DIR) -> dict[str, Path]:
    """``{id: folder}`` of every folder under ``root`` that holds a ``dataset.toml``, by name."""
    return {p.parent.name: p.parent for p in sorted(root.glob(f"*/{DECLARATION_FILE}"))}


def _shown(folder: Path) -> str:
    """A folder as messages name it: relative to the project when inside it (no absolute paths)."""
    try:
        return folder.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return folder.as_posix()


def load_checked(folder: str | Path) -> Dataset:
    """Load a dataset folder and run every offline check on it; the first problem is one line."""
    folder = Path(folder)
    dataset = load_dataset(folder, shown_as=_shown(folder))
    where = f"{dataset.folder}/{DECLARATION_FILE}"
    for problem in expression_problems(dataset):
        raise DeclarationError(f"{where}: {problem}")
    recipe_problems = _recipe_problems(dataset)
    if recipe_problems:
        raise DeclarationError(f"{dataset.folder}/{dataset.recipe_file}: {recipe_problems[0]}")
    return dataset


@cache
def load_folder(folder: Path) -> Dataset:
    """``load_checked`` once per folder: the config, the stacks and the tests share one load."""
    return load_checked(Path(folder).resolve())


@cache
def project_dataset(dataset_id: str) -> Dataset:
    """A dataset of this project by id, checked; the message lists the ids there are."""
    folders = dataset_folders()
    if dataset_id not in folders:
        raise DeclarationError(
            f"dataset {dataset_id!r} is not declared; datasets: {', '.join(folders) or '(none)'}"
        )
    return load_folder(folders[dataset_id])


def project_datasets() -> tuple[Dataset, ...]:
    return tuple(project_dataset(name) for name in dataset_folders())


def expression_problems(dataset: Dataset) -> list[str]:
    """Each output expression Spark SQL cannot parse, named by its field (sqlglot, Spark dialect)."""
    import sqlglot
    from sqlglot.errors import ParseError

    problems = []
    for i, output in enumerate(dataset.outputs):
        exprs = [(f"outputs[{i}].filter", output.filter)] if output.filter else []
        exprs += [(f"outputs[{i}].derive[{j}].expr", e) for j, (_, e) in enumerate(output.derive)]
        exprs += [(f"outputs[{i}].columns[{j}].expr", c.expr) for j, c in enumerate(output.columns)]
        for field, expr in exprs:
            try:
                parsed = sqlglot.parse(f"SELECT {expr}", read="spark")
            except ParseError as exc:
                problems.append(f"{field}: {expr!r} is not a Spark SQL expression ({_first_line(exc)})")
                continue
            if len(parsed) != 1 or len(parsed[0].expressions) != 1:
                problems.append(f"{field}: {expr!r} must be one Spark SQL expression")
    return problems


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0]


def _recipe_problems(dataset: Dataset) -> list[str]:
    import json

    from dap.databrew_reference import check_recipe

    try:
        steps = json.loads(dataset.recipe_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    return check_recipe(steps)
