"""EventBridge rules that turn a failed (or overlong) pipeline step into one readable alert on the topic.

Why events and not only alarms: the state-change event says which job, which run and why, the
moment it happens; an alarm on a count can only say "something failed". The rules match the
pipeline's resources by name (PlatformNames), so this stack deploys before the pipeline exists.
Each rule is shared by every dataset: a new dataset adds names to the patterns, not rules or alarms
(the alarms on the rules' match counts are in PipelineAlarms).

Event shapes (EventBridge reference for Glue and DataBrew): ``source`` ``aws.glue`` with
``detail-type`` "Glue Job State Change" (``detail.jobName``, ``jobRunId``, ``state``, ``message``),
"Glue Job Run Status" (the same fields plus ``startedOn`` and ``notificationCondition.NotifyDelayAfter``:
sent once when a run outlasts the job's ``NotificationProperty.NotifyDelayAfter``) or "Glue Crawler
State Change" (``detail.crawlerName``, ``state`` "Failed", ``errorMessage``); ``source``
``aws.databrew`` with "DataBrew Job State Change" (same fields as the Glue job event); ``source``
``aws.states`` with "Step Functions Execution Status Change" (``detail.stateMachineArn``, ``name``,
``executionArn``, ``status``; the documented samples carry no error or cause, so the alert names the
execution to describe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

# Terminal job-run states that mean "did not finish its work". STOPPED is left out on purpose: a
# stop is a person's (or the state machine's) decision, not a failure. ERROR is what Glue reports
# when a trigger starts a deleted job.
GLUE_JOB_FAILED_STATES = ("FAILED", "TIMEOUT", "ERROR")
DATABREW_JOB_FAILED_STATES = ("FAILED", "TIMEOUT")
CRAWLER_FAILED_STATES = ("Failed",)  # crawler events spell states in title case
# ABORTED is left out for the same reason as STOPPED: someone stopped the execution.
EXECUTION_FAILED_STATUSES = ("FAILED", "TIMED_OUT")


@jsii.implements(events.IRuleTarget)
class TopicTarget:
    """Deliver a rule's events to a topic without touching the topic or key policy.

    ``aws_events_targets.SnsTopic`` grants ``events.amazonaws.com`` publish rights on the topic and
    on its key with no condition; the topic's own policy (AlertsTopic) already allows EventBridge,
    narrowed to this account, so this target only points the rule at the topic.
    """

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self._topic = topic
        self._message = message

    def bind(self, _rule, _id=None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn, input=self._message)


@dataclass(frozen=True)
class FailureEventsProps:
    rule_prefix: str
    topic: sns.ITopic
    glue_jobs: Sequence[str]
    databrew_jobs: Sequence[str]
    crawlers: Sequence[str]
    state_machine_arns: Sequence[str]


_field = events.EventField.from_path


def _job_message(service: str) -> str:
    return (
        f"{service} job {_field('$.detail.jobName')} run {_field('$.detail.jobRunId')} ended "
        f"{_field('$.detail.state')}: {_field('$.detail.message')}"
    )


class FailureEvents(Construct):
    """One rule per kind of event (Glue, DataBrew and crawler failures, state machine failures, Glue
    runs past their delay notification), each to the alerts topic."""

    def __init__(self, scope: Construct, construct_id: str, props: FailureEventsProps) -> None:
        super().__init__(scope, construct_id)
        self._props = props
        self.glue_job_rule = self._rule(
            "GlueJobFailed",
            "glue-job-failed",
            "A pipeline Glue job run failed, timed out or errored",
            events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": list(props.glue_jobs), "state": list(GLUE_JOB_FAILED_STATES)},
            ),
            _job_message("Glue"),
        )
        self.databrew_job_rule = self._rule(
            "DataBrewJobFailed",
            "databrew-job-failed",
            "A pipeline DataBrew job run failed or timed out",
            events.EventPattern(
                source=["aws.databrew"],
                detail_type=["DataBrew Job State Change"],
                detail={"jobName": list(props.databrew_jobs), "state": list(DATABREW_JOB_FAILED_STATES)},
            ),
            _job_message("DataBrew"),
        )
        self.crawler_rule = self._rule(
            "CrawlerFailed",
            "crawler-failed",
            "A pipeline Glue crawler run failed",
            events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Crawler State Change"],
                detail={"crawlerName": list(props.crawlers), "state": list(CRAWLER_FAILED_STATES)},
            ),
            f"Glue crawler {_field('$.detail.crawlerName')} failed: {_field('$.detail.errorMessage')}",
        )
        self.execution_rule = self._rule(
            "PipelineExecutionFailed",
            "pipeline-execution-failed",
            "A pipeline state machine execution failed or timed out",
            events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": list(props.state_machine_arns),
                    "status": list(EXECUTION_FAILED_STATUSES),
                },
            ),
            f"Pipeline execution {_field('$.detail.name')} of {_field('$.detail.stateMachineArn')} "
            f"ended {_field('$.detail.status')}; its error and cause: aws stepfunctions "
            f"describe-execution --execution-arn {_field('$.detail.executionArn')}",
        )
        self.glue_runtime_rule = self._rule(
            "GlueJobRunningLong",
            "glue-job-running-long",
            "A pipeline Glue job run outlasted its delay notification (NotifyDelayAfter)",
            events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job Run Status"],
                detail={"jobName": list(props.glue_jobs)},
            ),
            f"Glue job {_field('$.detail.jobName')} run {_field('$.detail.jobRunId')} has run "
            f"longer than {_field('$.detail.notificationCondition.NotifyDelayAfter')} minutes "
            f"(started {_field('$.detail.startedOn')}): {_field('$.detail.message')}",
        )
        self.rules = (
            self.glue_job_rule,
            self.databrew_job_rule,
            self.crawler_rule,
            self.execution_rule,
            self.glue_runtime_rule,
        )

    def _rule(
        self, construct_id: str, slug: str, description: str, pattern: events.EventPattern, message: str
    ) -> events.Rule:
        """A rule ``<prefix>-<slug>`` sending ``message`` (plus where and when) to the alerts topic."""
        where = f" (account {_field('$.account')}, {_field('$.region')}, {_field('$.time')})"
        return events.Rule(
            self,
            construct_id,
            rule_name=f"{self._props.rule_prefix}-{slug}",
            description=description,
            event_pattern=pattern,
            targets=[TopicTarget(self._props.topic, events.RuleTargetInput.from_text(message + where))],
        )
