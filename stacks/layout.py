"""Where the data lives: key prefixes per dataset, shared by the stacks, the jobs and the local run.

Every dataset has the same tree under its id, in the same buckets (storage is shared, prefixes are
not), so a path seen on a laptop (``local_run/<dataset>/...``) is the path an operator finds in S3:

* raw bucket: ``raw/<id>/`` (a new object starts a run), ``incoming/<id>/`` (portal downloads staged
  until checked), ``profiles/<id>/`` (DataBrew profile results);
* transformed bucket: ``cleaned/<id>/`` (the recipe job's Parquet), ``quality_check/passed/<id>/``,
  ``quality_check/failed/<id>/``, ``quality_check/reports/<id>/`` (the quality report and the last
  successful run's input fingerprint);
* curated bucket: ``<id>/<output key>/`` (Parquet per declared output), ``<id>/<output key>_csv/``
  (its CSV for people), ``<id>/reports/latest.html`` (the HTML run report).
"""

from __future__ import annotations

from dataclasses import dataclass

ATHENA_RESULTS_PREFIX = "athena/"
# Every dataset's staged portal downloads live under here (``incoming/<id>/``): expired after a day.
INCOMING_ROOT = "incoming/"


@dataclass(frozen=True)
class DatasetLayout:
    """The key prefixes of one dataset (``dataset_id`` as in ``datasets/<id>/``)."""

    dataset_id: str

    @property
    def raw(self) -> str:
        return f"raw/{self.dataset_id}/"

    @property
    def incoming(self) -> str:
        # Portal downloads stream here first (outside ``raw``, which starts runs) and are copied into it
        # only once complete and checked.
        return f"{INCOMING_ROOT}{self.dataset_id}/"

    @property
    def profiles(self) -> str:
        return f"profiles/{self.dataset_id}/"

    @property
    def cleaned(self) -> str:
        return f"cleaned/{self.dataset_id}/"

    @property
    def passed(self) -> str:
        return f"quality_check/passed/{self.dataset_id}/"

    @property
    def failed(self) -> str:
        return f"quality_check/failed/{self.dataset_id}/"

    @property
    def reports(self) -> str:
        return f"quality_check/reports/{self.dataset_id}/"

    @property
    def quality_report_key(self) -> str:
        return self.reports + "latest.json"

    @property
    def last_successful_run_key(self) -> str:
        """Written by the state machine after a successful run: the raw input's fingerprint, so an
        unchanged input can end the next run early."""
        return self.reports + "last_successful_run.json"

    @property
    def curated(self) -> str:
        return f"{self.dataset_id}/"

    def output(self, key: str) -> str:
        """Parquet of the declared output ``key`` (curated bucket)."""
        return f"{self.dataset_id}/{key}/"

    def output_csv(self, key: str) -> str:
        """The one CSV file of output ``key``, for people (curated bucket)."""
        return f"{self.dataset_id}/{key}_csv/"

    @property
    def run_reports(self) -> str:
        """The HTML run report the summary job writes after each run (versioning keeps old ones)."""
        return f"{self.dataset_id}/reports/"

    @property
    def run_report_html_key(self) -> str:
        return self.run_reports + "latest.html"
