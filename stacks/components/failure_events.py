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


def _job_message(service: str) -> events.RuleTargetInput:
    field = events.EventField.from_path
    return events.RuleTargetInput.from_text(
        f"{service} job {field('$.detail.jobName')} run {field('$.detail.jobRunId')} ended "
        f"{field('$.detail.state')}: {field('$.detail.message')} "
        f"(account {field('$.account')}, {field('$.region')}, {field('$.time')})"
    )


class FailureEvents(Construct):
    """One rule per kind of event (Glue, DataBrew and crawler failures, state machine failures, Glue
    runs past their delay notification), each to the alerts topic."""

    def __init__(self, scope: Construct, construct_id: str, props: FailureEventsProps) -> None:
        super().__init__(scope, construct_id)
        self.glue_job_rule = events.Rule(
            self,
            "GlueJobFailed",
            rule_name=f"{props.rule_prefix}-glue-job-failed",
            description="A pipeline Glue job run failed, timed out or errored",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": list(props.glue_jobs), "state": list(GLUE_JOB_FAILED_STATES)},
            ),
            targets=[TopicTarget(props.topic, _job_message("Glue"))],
        )
        self.databrew_job_rule = events.Rule(
            self,
            "DataBrewJobFailed",
            rule_name=f"{props.rule_prefix}-databrew-job-failed",
            description="A pipeline DataBrew job run failed or timed out",
            event_pattern=events.EventPattern(
                source=["aws.databrew"],
                detail_type=["DataBrew Job State Change"],
                detail={"jobName": list(props.databrew_jobs), "state": list(DATABREW_JOB_FAILED_STATES)},
            ),
            targets=[TopicTarget(props.topic, _job_message("DataBrew"))],
        )
        field = events.EventField.from_path
        self.crawler_rule = events.Rule(
            self,
            "CrawlerFailed",
            rule_name=f"{props.rule_prefix}-crawler-failed",
            description="A pipeline Glue crawler run failed",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Crawler State Change"],
                detail={"crawlerName": list(props.crawlers), "state": list(CRAWLER_FAILED_STATES)},
            ),
            targets=[
                TopicTarget(
                    props.topic,
                    events.RuleTargetInput.from_text(
                        f"Glue crawler {field('$.detail.crawlerName')} failed: "
                        f"{field('$.detail.errorMessage')} "
                        f"(account {field('$.account')}, {field('$.region')}, {field('$.time')})"
                    ),
                )
            ],
        )
        self.execution_rule = events.Rule(
            self,
            "PipelineExecutionFailed",
            rule_name=f"{props.rule_prefix}-pipeline-execution-failed",
            description="A pipeline state machine execution failed or timed out",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": list(props.state_machine_arns),
                    "status": list(EXECUTION_FAILED_STATUSES),
                },
            ),
            targets=[
                TopicTarget(
                    props.topic,
                    events.RuleTargetInput.from_text(
                        f"Pipeline execution {field('$.detail.name')} of {field('$.detail.stateMachineArn')} "
                        f"ended {field('$.detail.status')}; its error and cause: aws stepfunctions "
                        f"describe-execution --execution-arn {field('$.detail.executionArn')} "
                        f"(account {field('$.account')}, {field('$.region')}, {field('$.time')})"
                    ),
                )
            ],
        )
        self.glue_runtime_rule = events.Rule(
            self,
            "GlueJobRunningLong",
            rule_name=f"{props.rule_prefix}-glue-job-running-long",
            description="A pipeline Glue job run outlasted its delay notification (NotifyDelayAfter)",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job Run Status"],
                detail={"jobName": list(props.glue_jobs)},
            ),
            targets=[
                TopicTarget(
                    props.topic,
                    events.RuleTargetInput.from_text(
                        f"Glue job {field('$.detail.jobName')} run {field('$.detail.jobRunId')} has run "
                        f"longer than {field('$.detail.notificationCondition.NotifyDelayAfter')} minutes "
                        f"(started {field('$.detail.startedOn')}): {field('$.detail.message')} "
                        f"(account {field('$.account')}, {field('$.region')}, {field('$.time')})"
                    ),
                )
            ],
        )
        self.rules = (
            self.glue_job_rule,
            self.databrew_job_rule,
            self.crawler_rule,
            self.execution_rule,
            self.glue_runtime_rule,
        )
