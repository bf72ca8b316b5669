"""A dataset the engine has never seen, declared in the test: three columns, two row rules (one of them
``unique_row``), one grouped output and a bar chart. Nothing about it exists outside this file."""

from __future__ import annotations

from dataset_etl.declaration import Dataset, parse_dataset

TINY_TOML = """
id = "tiny"
title = "Tiny scores"
description = "Scores of teams, one row per game"
source = "made up for the engine tests"
portal_dataset_id = "tiny-scores"
classification = "public"
timezone = "America/Vancouver"
recipe = "recipe.json"

[format]
delimiter = ","
encoding = "utf-8"

[catalog]
database = "tiny"
cleaned_table = "cleaned_tiny"

[parameters]
min_score = 20.0  # the output keeps games scoring MORE than this

[schema]
partition_column = "year"
columns = [
  { raw = "Year", name = "year", type = "int", comment = "Season" },
  { raw = "Team", name = "team", type = "string", comment = "Team name" },
  { raw = "Score", name = "score", type = "double", comment = "Points scored" },
]

[[rules.row]]
kind = "unique_row"
name = "no_duplicate_rows"
description = "No game is listed twice"

[[rules.row]]
kind = "range"
name = "score_above_ten"
description = "Score is present and above 10"
column = "score"
minimum = 10
exclusive_minimum = true

[[outputs]]
key = "by_team"
table = "scores_by_team"
description = "Games and average score per team and season, games above the minimum score"
filter = "score > :min_score"
group_by = ["year", "team"]
order_by = ["year", "team"]
partition = "year"
csv = true
columns = [
  { name = "year", type = "int", expr = "year", comment = "Season (partition column)" },
  { name = "team", type = "string", expr = "team", comment = "Team name" },
  { name = "games", type = "bigint", expr = "count(1)", comment = "Games above the minimum score" },
  { name = "avg_score", type = "double", expr = "avg(score)", comment = "Average score of those games" },
  { name = "report_date", type = "date", expr = ":report_date", comment = "Local date of the run" },
]

[chart]
kind = "bar"
output = "by_team"
title = "Tiny scores: average score by team"
subtitle = "Games scoring more than {min_score}"
category = "team"
value = "avg_score"
latest = "year"
value_label = "Average score"
"""


def tiny_dataset() -> Dataset:
    return parse_dataset(TINY_TOML, folder="datasets/tiny")
