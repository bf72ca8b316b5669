"""The platform's one alert channel: an encrypted SNS topic that only the platform may publish to.

Why a construct of its own: the topic policy and the key-policy statements that let AWS services
use the encrypted topic must change together, and nothing else (event targets, alarm actions) may
widen them. EventBridge and CloudWatch publish as service principals, narrowed to this account by
``aws:SourceAccount`` in the topic policy; the account's own principals (the pipeline's state machine
role) publish through IAM (``grant_publish``), which a same-account topic allows without a policy
statement.

The key policy differs per publisher, as the SNS guide says
(https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services):
CloudWatch gets ``kms:GenerateDataKey*``/``kms:Decrypt`` narrowed by ``aws:SourceAccount``, while
EventBridge gets them with no ``aws:SourceAccount``/``aws:SourceArn``/``aws:SourceOrgID``, because
"Adding [them] to a AWS KMS policy is not supported for EventBridge-to-encrypted topics": with them,
every failure notification would be dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

# The AWS services that deliver the platform's alerts to the topic.
CLOUDWATCH = "cloudwatch.amazonaws.com"
EVENTBRIDGE = "events.amazonaws.com"
PUBLISHING_SERVICES = (EVENTBRIDGE, CLOUDWATCH)
# What a publishing service needs on the topic's key (SNS guide, link above).
PUBLISH_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]


@dataclass(frozen=True)
class AlertsTopicProps:
    topic_name: str
    display_name: str
    email: str
    account: str
    # The platform key; it lives in the Storage stack, so its statement below holds literals only.
    key: kms.IKey


class AlertsTopic(Construct):
    """SNS topic, KMS-encrypted with the platform key, TLS-only, one e-mail subscription."""

    def __init__(self, scope: Construct, construct_id: str, props: AlertsTopicProps) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=props.topic_name,
            display_name=props.display_name,
            master_key=props.key,
            enforce_ssl=True,
        )
        self.topic.add_subscription(subscriptions.EmailSubscription(props.email))
        same_account = {"StringEquals": {"aws:SourceAccount": props.account}}
        services = [iam.ServicePrincipal(service) for service in PUBLISHING_SERVICES]
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPlatformServicesToPublish",
                principals=services,
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=same_account,
            )
        )
        # Publishing to an encrypted topic needs the key. Only strings here: a token of this stack in
        # the Storage key policy would be a cycle.
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishEncryptedAlerts",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=PUBLISH_KEY_ACTIONS,
                resources=["*"],
                conditions=same_account,
            )
        )
        # No source condition for EventBridge: the SNS guide says KMS does not support them on this
        # path, and a statement carrying them would never match. The topic policy above still limits
        # who can make EventBridge publish here to this account's rules.
        props.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToPublishEncryptedAlerts",
                principals=[iam.ServicePrincipal(EVENTBRIDGE)],
                actions=PUBLISH_KEY_ACTIONS,
                resources=["*"],
            )
        )
