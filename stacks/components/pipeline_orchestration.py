"""The state machine that runs one dataset's pipeline in order, and the two triggers that start it.

One state machine per dataset: each has its own raw trigger (``raw/<id>/``), schedule, no-change
fingerprint (``quality_check/reports/<id>/last_successful_run.json``) and failure alarm; a run of one
dataset never waits for, or fails, another; and each role is scoped to its own dataset's resources.

Order: wait for older runs → fingerprint the raw input (its objects' keys, ETags and sizes) → stop
with a "no change" notification when it is the input of the last successful run (unless the run was
started with ``{"force": true}``) → DataBrew recipe job → quality job → summary job → read the quality
report → record the run's fingerprint beside the report → success notification with counts.

Nothing on the run path has a fixed minimum it does not need: the crawlers (schema drift only, 10
billed minutes a crawl) and the DataBrew profile job run on their own schedules; the tables are read
through partition projection, so no run waits for a crawler.

Runs never overlap: every execution first lists the running executions and proceeds only when it is
the oldest one, waiting (bounded) otherwise. Each run reprocesses the whole raw prefix and overwrites
its outputs, so files that land during a run are picked up by the run queued behind it.

Every task retries, with backoff, the throttling and "already running" errors its own call can raise,
and has a catch that names the failed step in one SNS message before the execution fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.components.access import KEY_FOR_SSE_KMS, allow_key_use, allow_log_group_encryption
from stacks.components.log_retention import retention_days
from stacks.components.nag import acknowledge
from stacks.config import ScheduleSettings
from stacks.layout import DatasetLayout
from stacks.names import DatasetNames

GUARD_WAIT = Duration.minutes(5)
GUARD_MAX_WAITS = 36  # three hours behind an earlier run, then give up (and say so)
# What identifies the raw input: the same objects (key, ETag, size) as the last successful run's.
FINGERPRINT = (
    "States.Hash(States.JsonToString(States.Array($.raw.Contents[*].Key, $.raw.Contents[*].ETag, "
    "$.raw.Contents[*].Size)), 'SHA-256')"
)
# Transient errors worth retrying, named as Step Functions names a service's errors
# (<Service>.<Exception>). Each task retries only what its own call can raise: throttling (the codes AWS
# SDKs treat as throttling for every service; S3's SlowDown; the KMS throttling of the encrypted topic)
# and its operation's own "already running" conflicts. tests/stacks/test_state_machine_asl.py checks
# every name against botocore's model of that operation.
THROTTLING_ERRORS = {
    "sfn": ["Sfn.ThrottlingException"],
    "databrew": ["DataBrew.ThrottlingException"],
    "glue": ["Glue.ThrottlingException"],
    "s3": ["S3.SlowDownException"],
    "sns": ["SNS.ThrottledException", "SNS.KMSThrottlingException"],
}
ALREADY_RUNNING_ERRORS = {
    "glue:startJobRun": ["Glue.ConcurrentRunsExceededException"],
    "databrew:startJobRun": ["DataBrew.ConflictException", "DataBrew.ServiceQuotaExceededException"],
}


@dataclass(frozen=True)
class PipelineOrchestrationProps:
    names: DatasetNames
    key: kms.IKey
    topic: sns.ITopic
    schedule: ScheduleSettings
    raw_bucket_name: str
    transformed_bucket_name: str
    log_retention_days: int
    removal_policy: RemovalPolicy


class PipelineOrchestration(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: PipelineOrchestrationProps) -> None:
        super().__init__(scope, construct_id)
        names = props.names
        layout = DatasetLayout(names.dataset_id)
        self.log_group_name = f"/aws/vendedlogs/states/{names.state_machine}"
        stack = Stack.of(self)

        failure_notice = tasks.SnsPublish(
            self,
            "Notify failure",
            topic=props.topic,
            subject=f"{names.state_machine}: run failed",
            message=sfn.TaskInput.from_json_path_at(
                "States.Format('Pipeline run {} failed at step \"{}\": {}. Cause: {}', "
                "$$.Execution.Name, $.failure.step, $.failure.error, $.failure.cause)"
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        failure_notice.add_retry(
            errors=[*THROTTLING_ERRORS["sns"], "SNS.InternalErrorException", "States.Timeout"],
            interval=Duration.seconds(5),
            backoff_rate=2,
            max_attempts=5,
        )
        failure_notice.next(
            sfn.Fail(self, "Run failed", error_path="$.failure.error", cause_path="$.failure.cause")
        )

        def guarded(
            task: sfn.TaskStateBase, step: str, service: str, already_running: str | None = None
        ) -> sfn.TaskStateBase:
            """Retry the call's transient errors with backoff; on anything else, name the step and notify."""
            retried = [(THROTTLING_ERRORS[service], 5)]
            if already_running:
                retried.append((ALREADY_RUNNING_ERRORS[already_running], 30))
            for errors, interval in retried:
                task.add_retry(
                    errors=errors,
                    interval=Duration.seconds(interval),
                    backoff_rate=2,
                    max_attempts=5,
                    max_delay=Duration.minutes(10),
                )
            record = sfn.Pass(
                self,
                f"{task.node.id}: record failure",
                parameters={
                    "step": step,
                    "error.$": "$.caught.Error",
                    "cause.$": "$.caught.Cause",
                },
                result_path="$.failure",
            )
            task.add_catch(record.next(failure_notice), errors=["States.ALL"], result_path="$.caught")
            return task

        start = sfn.Pass(
            self,
            "Start run",
            parameters={
                "execution.$": "$$.Execution.Id",
                "started.$": "$$.Execution.StartTime",
                "trigger.$": "$",
                "guard": {"waits": 0},
            },
        )

        # --- one run at a time: the oldest running execution goes first -------------------------
        list_running = guarded(
            tasks.CallAwsService(
                self,
                "List running executions",
                service="sfn",
                action="listExecutions",
                parameters={
                    "StateMachineArn": names.state_machine_arn,
                    "StatusFilter": "RUNNING",
                    "MaxResults": 100,
                },
                iam_resources=[names.state_machine_arn],
                iam_action="states:ListExecutions",
                result_selector={
                    "oldest.$": "States.ArrayGetItem($.Executions[*].ExecutionArn, "
                    "States.MathAdd(States.ArrayLength($.Executions), -1))"
                },
                result_path="$.guard.running",
            ),
            "Wait for earlier runs",
            "sfn",
        )
        guard_wait = sfn.Wait(self, "Earlier run still busy", time=sfn.WaitTime.duration(GUARD_WAIT))
        count_wait = sfn.Pass(
            self,
            "Count guard wait",
            parameters={"waits.$": "States.MathAdd($.guard.waits, 1)"},
            result_path="$.guard",
        )
        guard_gave_up = sfn.Pass(
            self,
            "Earlier run too long",
            parameters={
                "step": "Wait for earlier runs",
                "error": "EarlierRunStillRunning",
                "cause": f"another execution kept running for {GUARD_MAX_WAITS * 5} minutes",
            },
            result_path="$.failure",
        ).next(failure_notice)

        def transformed_object(key: str) -> str:
            return f"arn:{stack.partition}:s3:::{props.transformed_bucket_name}/{key}"

        # --- skip work that changes nothing -------------------------------------------------------
        raw_arn = f"arn:{stack.partition}:s3:::{props.raw_bucket_name}"
        list_raw = guarded(
            tasks.CallAwsService(
                self,
                "List raw input",
                service="s3",
                action="listObjectsV2",
                parameters={"Bucket": props.raw_bucket_name, "Prefix": layout.raw},
                iam_resources=[raw_arn],
                iam_action="s3:ListBucket",
                result_path="$.raw",
            ),
            "List raw input",
            "s3",
        )
        no_input = sfn.Pass(
            self,
            "No raw input",
            parameters={
                "step": "List raw input",
                "error": "NoRawInput",
                "cause": f"nothing under s3://{props.raw_bucket_name}/{layout.raw}",
            },
            result_path="$.failure",
        ).next(failure_notice)
        fingerprint = sfn.Pass(
            self,
            "Fingerprint raw input",
            parameters={"fingerprint.$": FINGERPRINT, "objects.$": "$.raw.KeyCount"},
            result_path="$.input",
        )
        last_run = tasks.CallAwsService(
            self,
            "Read last successful run",
            service="s3",
            action="getObject",
            parameters={"Bucket": props.transformed_bucket_name, "Key": layout.last_successful_run_key},
            iam_resources=[transformed_object(layout.last_successful_run_key)],
            result_selector={"record.$": "States.StringToJson($.Body)"},
            result_path="$.last",
        )
        last_run.add_retry(
            errors=THROTTLING_ERRORS["s3"], interval=Duration.seconds(5), backoff_rate=2, max_attempts=5
        )
        # No record (the first run), or one that cannot be read: run. Never skip on a doubt.
        no_record = sfn.Pass(
            self,
            "No record of a successful run",
            result=sfn.Result.from_object({"record": {}}),
            result_path="$.last",
        )
        last_run.add_catch(no_record, errors=["States.ALL"], result_path="$.caught")
        unchanged_notice = guarded(
            tasks.SnsPublish(
                self,
                "Notify no change",
                topic=props.topic,
                subject=f"{names.state_machine}: no change",
                message=sfn.TaskInput.from_json_path_at(
                    "States.Format('Pipeline run {} did nothing: the raw input ({} objects, fingerprint {}) "
                    'is the input of the last successful run, {}. Start a run with {{\\"force\\": true}} '
                    "(dap run --force) to process it again.', $$.Execution.Name, $.input.objects, "
                    "$.input.fingerprint, $.last.record.execution)"
                ),
                result_path=sfn.JsonPath.DISCARD,
            ),
            "Notify no change",
            "sns",
        )

        # --- DataBrew: the recipe job, run to completion (the profile job runs on its own schedule) --
        clean = guarded(
            tasks.GlueDataBrewStartJobRun(
                self,
                "Clean with DataBrew",
                name=names.databrew_recipe_job,
                integration_pattern=sfn.IntegrationPattern.RUN_JOB,
                # The .sync result is the DataBrew JobRun: its id is RunId (a missing path is States.Runtime).
                result_selector={"state.$": "$.State", "id.$": "$.RunId"},
                result_path="$.cleaning",
            ),
            "Clean with DataBrew",
            "databrew",
            "databrew:startJobRun",
        )

        # --- the Glue jobs, run to completion ------------------------------------------------------
        run_time_argument = sfn.TaskInput.from_object({"--run_time": sfn.JsonPath.string_at("$.started")})
        quality = guarded(
            tasks.GlueStartJobRun(
                self,
                "Check quality",
                glue_job_name=names.quality_job,
                integration_pattern=sfn.IntegrationPattern.RUN_JOB,
                arguments=run_time_argument,
                result_selector={"state.$": "$.JobRunState", "id.$": "$.Id", "seconds.$": "$.ExecutionTime"},
                result_path="$.quality",
            ),
            "Check quality",
            "glue",
            "glue:startJobRun",
        )
        summarize = guarded(
            tasks.GlueStartJobRun(
                self,
                "Summarize",
                glue_job_name=names.summary_job,
                integration_pattern=sfn.IntegrationPattern.RUN_JOB,
                arguments=run_time_argument,
                result_selector={"state.$": "$.JobRunState", "id.$": "$.Id", "seconds.$": "$.ExecutionTime"},
                result_path="$.summary",
            ),
            "Summarize",
            "glue",
            "glue:startJobRun",
        )
        read_report = guarded(
            tasks.CallAwsService(
                self,
                "Read quality report",
                service="s3",
                action="getObject",
                parameters={"Bucket": props.transformed_bucket_name, "Key": layout.quality_report_key},
                iam_resources=[transformed_object(layout.quality_report_key)],
                result_selector={"counts.$": "States.StringToJson($.Body)"},
                result_path="$.report",
            ),
            "Read quality report",
            "s3",
        )
        record_run = guarded(
            tasks.CallAwsService(
                self,
                "Record successful run",
                service="s3",
                action="putObject",
                parameters={
                    "Bucket": props.transformed_bucket_name,
                    "Key": layout.last_successful_run_key,
                    "ContentType": "application/json",
                    "Body.$": "States.JsonToString($.record)",
                },
                iam_resources=[transformed_object(layout.last_successful_run_key)],
                result_path=sfn.JsonPath.DISCARD,
            ),
            "Record successful run",
            "s3",
        )
        run_record = sfn.Pass(
            self,
            "Prepare run record",
            parameters={
                "fingerprint.$": "$.input.fingerprint",
                "objects.$": "$.input.objects",
                "execution.$": "$$.Execution.Name",
                "started.$": "$.started",
            },
            result_path="$.record",
        )
        success_notice = guarded(
            tasks.SnsPublish(
                self,
                "Notify success",
                topic=props.topic,
                subject=f"{names.state_machine}: run succeeded",
                message=sfn.TaskInput.from_json_path_at(
                    "States.Format('Pipeline run {} succeeded: {} rows in, {} passed, {} failed "
                    "(quality job {} s, summary job {} s).', $$.Execution.Name, $.report.counts.rows_in, "
                    "$.report.counts.rows_passed, $.report.counts.rows_failed, $.quality.seconds, "
                    "$.summary.seconds)"
                ),
                result_path=sfn.JsonPath.DISCARD,
            ),
            "Notify success",
            "sns",
        )

        force = sfn.Condition.and_(
            sfn.Condition.is_present("$.trigger.force"), sfn.Condition.boolean_equals("$.trigger.force", True)
        )
        unchanged = sfn.Condition.and_(
            sfn.Condition.is_present("$.last.record.fingerprint"),
            sfn.Condition.string_equals_json_path("$.last.record.fingerprint", "$.input.fingerprint"),
        )
        definition = start.next(list_running).next(
            sfn.Choice(self, "Oldest running?")
            .when(sfn.Condition.string_equals_json_path("$.guard.running.oldest", "$.execution"), list_raw)
            .when(sfn.Condition.number_greater_than_equals("$.guard.waits", GUARD_MAX_WAITS), guard_gave_up)
            .otherwise(guard_wait.next(count_wait).next(list_running))
        )
        list_raw.next(
            sfn.Choice(self, "Raw input present?")
            .when(sfn.Condition.number_greater_than("$.raw.KeyCount", 0), fingerprint)
            .otherwise(no_input)
        )
        fingerprint.next(last_run)
        decide = (
            sfn.Choice(self, "Input changed?")
            .when(force, clean)
            .when(unchanged, unchanged_notice.next(sfn.Succeed(self, "Nothing to do")))
            .otherwise(clean)
        )
        last_run.next(decide)
        no_record.next(decide)
        clean.next(quality).next(summarize).next(read_report).next(run_record).next(record_run).next(
            success_notice
        ).next(sfn.Succeed(self, "Run succeeded"))

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=self.log_group_name,
            encryption_key=props.key,
            retention=retention_days(props.log_retention_days),
            removal_policy=props.removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=names.state_machine,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(8),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        role = self.state_machine.role
        # CDK's DependsOn the role duplicates the RoleArn GetAtt (cfn-lint W3005); the policy one stays.
        policy = role.node.find_child("DefaultPolicy").node.default_child
        self.state_machine.node.default_child.add_override("DependsOn", [stack.get_logical_id(policy)])
        allow_key_use(role, props.key, KEY_FOR_SSE_KMS)  # the encrypted topic and the SSE-KMS report
        self._acknowledge_service_wildcards(role)
        self._allow_log_encryption(props.key, props.names)
        self._triggers(props)

    def _triggers(self, props: PipelineOrchestrationProps) -> None:
        layout = DatasetLayout(props.names.dataset_id)
        target = targets.SfnStateMachine(self.state_machine)
        self.raw_object_rule = events.Rule(
            self,
            "OnRawObjectCreated",
            description=f"Run the {props.names.dataset_id} pipeline when an export lands in its raw prefix",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [props.raw_bucket_name]},
                    "object": {"key": [{"prefix": layout.raw}]},
                },
            ),
            targets=[target],
        )
        self.schedule_rule = events.Rule(
            self,
            "OnSchedule",
            description=f"Run the {props.names.dataset_id} pipeline on the stage's schedule",
            schedule=events.Schedule.expression(props.schedule.expression),
            enabled=props.schedule.enabled,
            targets=[target],
        )

    def _allow_log_encryption(self, key: kms.IKey, names: DatasetNames) -> None:
        stack = Stack.of(self)
        allow_log_group_encryption(
            key,
            sid=f"{names.pascal}StateMachineLogGroup",
            region=stack.region,
            log_group_arn=stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=self.log_group_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )

    @staticmethod
    def _acknowledge_service_wildcards(role: iam.IRole) -> None:
        acknowledge(
            role,
            "IAM5[Resource::*]",
            "CDK adds X-Ray trace writing and CloudWatch Logs delivery management for the state machine; "
            "neither action supports resource-level permissions (AWS service authorization reference).",
        )
