"""The dataset declarations: both project datasets load, and every kind of mistake stops with one line
naming the file and the field (checked on edited copies of the real declarations)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dataset_etl.declaration import DeclarationError, load_dataset, parse_dataset, references, with_parameters

from stacks.config import DEFAULT_DATASETS_DIR as DATASETS_DIR
from stacks.datasets import dataset_folders, load_checked, project_dataset

LICENCES_TOML = (DATASETS_DIR / "business_licences" / "dataset.toml").read_text(encoding="utf-8")
REMUNERATION_TOML = (DATASETS_DIR / "employee_remuneration" / "dataset.toml").read_text(encoding="utf-8")


def test_the_project_declares_both_datasets():
    assert list(dataset_folders()) == ["business_licences", "employee_remuneration"]
    licences, remuneration = project_dataset("business_licences"), project_dataset("employee_remuneration")
    assert len(licences.columns) == 25 and licences.partition_column == "file_year"
    assert licences.raw_header[:3] == ("FOLDERYEAR", "LicenceRSN", "LicenceNumber")
    assert [o.table for o in licences.outputs] == ["licence_summary", "licences"]
    assert remuneration.raw_header == ("Year", "Name", "Department", "Title", "Remuneration", "Expenses")
    assert remuneration.pii_columns == ("name",) and licences.pii_columns == ()
    assert remuneration.format.delimiter == ";" and remuneration.format.encoding == "utf-8"
    assert licences.format.encoding == "utf-8-sig"


def test_no_curated_output_of_a_project_dataset_holds_pii():
    for dataset in (project_dataset(name) for name in dataset_folders()):
        for output in dataset.outputs:
            assert not set(output.names) & set(dataset.pii_columns)
            for column in output.columns:
                assert not references(column.expr, dataset.pii_columns), (dataset.id, column.name)


def test_an_unknown_dataset_lists_the_declared_ones():
    with pytest.raises(DeclarationError, match=r"'parking' is not declared; datasets: business_licences, "):
        project_dataset("parking")


def _error(text: str, folder: str = "datasets/employee_remuneration") -> str:
    with pytest.raises(DeclarationError) as caught:
        parse_dataset(text, folder)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('type = "double"', 'type = "float"', "schema.columns[4].type: 'float' is not allowed; use one of"),
        ('column = "expenses"\nminimum = 0', 'column = "expense"\nminimum = 0',
         "rules.row[2].column: 'expense' is not a column of [schema]"),
        ('kind = "unique_row"', 'kind = "unique"', "rules.row[5].kind: 'unique' is not allowed"),
        ("threshold = 0.99", "threshold = 99", "rules.dataset[1].threshold: 99.0 is not within 0..1"),
        ('partition_column = "year"', 'partition_column = "yr"', "schema.partition_column: 'yr' is not a column"),
        ('delimiter = ";"', 'delimiter = ";;"', "format.delimiter: ';;' is not one character"),
        ('id = "employee_remuneration"', 'id = "remuneration"',
         "id: 'remuneration' must equal the folder's name 'employee_remuneration'"),
        ('comment = "City department, under its current name" },\n  { name = "headcount"',
         'comment = "City department, under its current name" },\n'
         '  { name = "who", type = "string", expr = "max(name)", comment = "x" },\n  { name = "headcount"',
         "outputs[0].columns[1]: uses PII column 'name'; PII never reaches the curated layer"),
        ('partition = "year"\ncsv = true', 'partition = "department_year"\ncsv = true',
         "outputs[0].partition: 'department_year' is not one of this output's columns"),
        ('group_by = ["year", "department_now"]', 'group_by = ["year", "dept"]',
         "outputs[0].group_by[1]: 'dept' is neither a column of [schema] nor derived"),
        ('expr = ":report_date"', 'expr = ":run_day"', "outputs[0].columns[6].expr: parameter :run_day is not"),
        ('chart]\nkind = "bar"\noutput = "summary"', 'chart]\nkind = "bar"\noutput = "daily"',
         "chart.output: 'daily' is not the key of an [[outputs]]"),
        ('value = "avg_remuneration"\nlatest', 'value = "average"\nlatest',
         "chart.value: 'average' is not a column of output 'summary'"),
        ('rows = "all"', 'rows = "some"', "answers[0].rows: 'some' is not allowed; use one of first, all"),
        ("[parameters]\n", "[parameters]\ncolour = true\n", "parameters.colour: True is not a string or a number"),
        ('title = "Employee remuneration"\n', "", "title: missing"),
        ('title = "Employee remuneration"\n', 'title = "Employee remuneration"\nowner = "me"\n',
         "owner: unknown field; allowed: id, title"),
        ('raw = "Expenses"', 'raw = "Remuneration"', "schema.columns[5].raw: 'Remuneration' is declared twice"),
        ('name = "not_a_duplicate"', 'name = "title_present"', "rules: rule name 'title_present' is used twice"),
        ('id = "employee_remuneration"', 'id = "employee_remuneration', "not valid TOML"),
    ],
)  # fmt: skip
def test_a_mistake_is_one_line_naming_the_file_and_field(old, new, expected):
    assert old in REMUNERATION_TOML, old
    message = _error(REMUNERATION_TOML.replace(old, new, 1))
    assert message.startswith("datasets/employee_remuneration/dataset.toml: "), message
    assert expected in message, message


def test_a_question_may_only_name_declared_parameters():
    broken = LICENCES_TOML.replace("more than {min_employees} employees", "more than {minimum} employees")
    message = _error(broken, "datasets/business_licences")
    assert "answers[1].question: {minimum} is not declared in [parameters]" in message


def _copy(tmp_path: Path, name: str) -> Path:
    """A copy of a project dataset's folder whose relative recipe/sample paths still resolve."""
    folder = tmp_path / "datasets" / name
    shutil.copytree(DATASETS_DIR / name, folder)
    text = (folder / "dataset.toml").read_text(encoding="utf-8")
    root = DATASETS_DIR.parent.as_posix()
    text = text.replace('"../../databrew_recipes/', f'"{root}/databrew_recipes/')
    text = text.replace('"../../sample_data/', f'"{root}/sample_data/')
    (folder / "dataset.toml").write_text(text, encoding="utf-8")
    return folder


def test_a_copied_folder_loads_and_a_missing_file_is_named(tmp_path):
    folder = _copy(tmp_path, "employee_remuneration")
    assert load_checked(folder).id == "employee_remuneration"
    text = (folder / "dataset.toml").read_text(encoding="utf-8")
    (folder / "dataset.toml").write_text(text.replace("_cleaning.json", "_cleaning.jsn"), encoding="utf-8")
    with pytest.raises(DeclarationError, match=r"dataset.toml: recipe: '.*_cleaning.jsn' is not a file$"):
        load_dataset(folder)
    (folder / "dataset.toml").unlink()
    with pytest.raises(DeclarationError, match=r"employee_remuneration/dataset.toml: missing"):
        load_dataset(folder)


def test_an_expression_spark_cannot_parse_is_named(tmp_path):
    folder = _copy(tmp_path, "employee_remuneration")
    path = folder / "dataset.toml"
    path.write_text(path.read_text().replace('expr = "max(remuneration)"', 'expr = "max(remuneration"'))
    with pytest.raises(
        DeclarationError, match=r"outputs\[0\]\.columns\[4\]\.expr: 'max\(remuneration' is not a "
    ):
        load_checked(folder)


def test_a_recipe_databrew_would_refuse_is_named(tmp_path):
    folder = _copy(tmp_path, "employee_remuneration")
    recipe = folder / "recipe.json"
    recipe.write_text('[{"Action": {"Operation": "RENAME_ALL", "Parameters": {}}}]', encoding="utf-8")
    path = folder / "dataset.toml"
    text = path.read_text()
    start = text.index('recipe = "') + len('recipe = "')
    path.write_text(text[:start] + "recipe.json" + text[text.index('"', start) :])
    with pytest.raises(DeclarationError, match=r"employee_remuneration/recipe.json: .*RENAME_ALL"):
        load_checked(folder)


def test_parameters_are_overridden_only_by_declared_names_and_types():
    licences = project_dataset("business_licences")
    assert with_parameters(licences, {"min_employees": 20}, where="x") == {
        "status": "Issued",
        "min_employees": 20,
    }
    with pytest.raises(
        DeclarationError, match=r"^stages.dev.datasets\[0\].parameters.colour: not a parameter"
    ):
        with_parameters(licences, {"colour": 1}, where="stages.dev.datasets[0].parameters")
    with pytest.raises(DeclarationError, match=r"min_employees: '20' is not of the declared type"):
        with_parameters(licences, {"min_employees": "20"}, where="p")


def test_references_ignore_string_literals_and_qualified_names():
    assert references("max(name)", ("name",)) == {"name"}
    assert references("`name` is not null", ("name",)) == {"name"}
    assert references("'name' = title", ("name",)) == set()
    assert references("t.surname", ("name",)) == set()


def test_pii_cannot_reach_an_output_through_a_derived_column():
    derived = '{ name = "department_now", expr = "CASE department'
    assert derived in REMUNERATION_TOML
    leaky = REMUNERATION_TOML.replace(
        derived, '{ name = "who", expr = "upper(name)" },\n  ' + derived, 1
    ).replace('expr = "department_now", comment = "City department, under its current name" },\n  { name = "headcount"',
              'expr = "who", comment = "City department, under its current name" },\n  { name = "headcount"', 1)  # fmt: skip
    assert leaky.count("upper(name)") == 1 and 'expr = "who"' in leaky
    message = _error(leaky)
    assert "outputs[0].columns[0]: uses PII column 'name'" in message
