"""Where the data lives: bucket purposes and key prefixes, shared by the stacks and the local run.

A local run writes the same tree under its output folder (``raw/``, ``transformed/`` ...), so a path
seen on a laptop is the path an operator finds in S3.
"""

from __future__ import annotations

RAW_PREFIX = "raw/business_licences/"
# Portal downloads stream here first (outside RAW_PREFIX, which starts runs) and are copied into it only
# once complete and checked.
INCOMING_PREFIX = "incoming/business_licences/"
CLEANED_PREFIX = "cleaned/business_licences/"
PROFILES_PREFIX = "profiles/business_licences/"
PASSED_PREFIX = "quality_check/passed/"
FAILED_PREFIX = "quality_check/failed/"
REPORTS_PREFIX = "quality_check/reports/"
QUALITY_REPORT_KEY = REPORTS_PREFIX + "latest.json"
# Written by the state machine after a successful run: the raw input's fingerprint, so an unchanged
# input can end the next run early.
LAST_SUCCESSFUL_RUN_KEY = REPORTS_PREFIX + "last_successful_run.json"
SUMMARY_PREFIX = "summary/"
SUMMARY_CSV_PREFIX = "summary_csv/"
LICENCES_PREFIX = "licences/"
# The HTML run report the summary job writes after each run (curated bucket; versioning keeps old ones).
RUN_REPORTS_PREFIX = "reports/"
RUN_REPORT_HTML_KEY = RUN_REPORTS_PREFIX + "latest.html"
ATHENA_RESULTS_PREFIX = "athena/"
