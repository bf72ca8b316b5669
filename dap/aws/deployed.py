"""The deployed platform of one stage, as seen through boto3.

:class:`Deployed` is built from the stage config (region, stack names). It resolves each stack's
CloudFormation outputs once, holds one client per service (all with adaptive retries), and turns the
AWS failures an operator can act on into :class:`dap.cli.CommandError` lines. Nothing here hard-codes a
bucket or resource name: they all come from the outputs the stacks declare.

Other commands reuse :func:`stack_outputs` (``stack_outputs("dev", "storage")["CuratedBucketName"]``).
Tests inject moto-backed clients, or pass ``clients=`` / ``outputs=`` directly.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

from dap.cli import CommandError
from stacks.config import StageConfig, load_stage

# Adaptive mode: client-side rate limiting plus exponential backoff, for every client we create.
# botocore reads ``max_attempts`` as retries after the first call (it stores total_max_attempts=11).
MAX_RETRIES = 10
RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": MAX_RETRIES})

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "InvalidSignatureException",
        "AuthFailure",
    }
)
ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})

STACK_ROLES = ("storage", "pipeline")


@functools.cache
def _model_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def new_session() -> boto3.session.Session:
    """A fresh boto3 session (credentials resolved anew) sharing one loader of the service models.

    Each botocore session otherwise re-reads the JSON models of every service it touches (~0.1 s each).
    """
    core = botocore.session.Session()
    core.register_component("data_loader", _model_loader())
    return boto3.session.Session(botocore_session=core)


def deploy_hint(config: StageConfig) -> str:
    return f"run `make deploy STAGE={config.stage}`"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@contextmanager
def aws_errors(config: StageConfig, action: str) -> Iterator[None]:
    """Turn botocore failures into one-line CommandErrors naming ``action`` and what to do."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError, TokenRetrievalError) as error:
        raise CommandError(
            f"no usable AWS credentials ({_one_line(error)}); set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY (or run `aws sso login`)"
        ) from None
    except ProfileNotFound as error:
        raise CommandError(f"{_one_line(error)}; check AWS_PROFILE and ~/.aws/config") from None
    except NoRegionError:  # we always pass the stage's region; kept for clients built elsewhere
        raise CommandError(
            f"no AWS region; stage {config.stage} uses {config.primary_region}, set AWS_DEFAULT_REGION"
        ) from None
    except EndpointConnectionError as error:
        raise CommandError(f"cannot reach AWS while trying to {action}: {_one_line(error)}") from None
    except ClientError as error:
        info = error.response.get("Error", {})
        code, message = info.get("Code", "?"), _one_line(info.get("Message", ""))
        operation = getattr(error, "operation_name", "?")
        if code in THROTTLING_CODES:
            raise CommandError(
                f"AWS kept throttling {operation} while trying to {action} ({code}, still refused after "
                f"{MAX_RETRIES} adaptive retries); wait a minute and try again"
            ) from None
        if code in CREDENTIAL_CODES:
            raise CommandError(
                f"AWS rejected the credentials ({code}: {message}); refresh them (e.g. `aws sso login`)"
            ) from None
        if code in ACCESS_CODES:
            raise CommandError(f"access denied: {operation} while trying to {action}: {message}") from None
        raise CommandError(f"{operation} failed while trying to {action}: {code}: {message}") from None


@dataclass
class Deployed:
    """One stage's deployed stacks: outputs resolved once, one retrying client per service."""

    config: StageConfig
    session: Any = None  # a boto3.Session; new_session() on first use if None
    clients: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> {OutputKey: value}
    sleep: Callable[[float], None] = time.sleep
    check_account: bool = True
    _identity_checked: bool = field(default=False, repr=False)
    _stack_status: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_stage(cls, stage: str | None = None, **kwargs: Any) -> Deployed:
        return cls(config=load_stage(stage), **kwargs)

    @property
    def region(self) -> str:
        return self.config.primary_region

    def client(self, service: str) -> Any:
        if service not in self.clients:
            if self.session is None:
                self.session = new_session()
            session = self.session
            self.clients[service] = session.client(service, region_name=self.region, config=RETRY_CONFIG)
        return self.clients[service]

    def errors(self, action: str):
        return aws_errors(self.config, action)

    def check_identity(self) -> str:
        """STS get-caller-identity once: clear errors for missing/expired creds or the wrong account."""
        with self.errors("check the AWS credentials"):
            account = self.client("sts").get_caller_identity()["Account"]
        if self.check_account and account != self.config.account:
            raise CommandError(
                f"the AWS credentials are for account {account}, but stage {self.config.stage} is deployed "
                f"to account {self.config.account} (cdk.json or $DAP_ACCOUNT_ID); switch AWS_PROFILE"
            )
        self._identity_checked = True
        return account

    def stack_outputs(self, role: str) -> dict[str, str]:
        """The outputs of stack ``config.stack_name(role)``, read once."""
        if role in self.outputs:
            return self.outputs[role]
        if not self._identity_checked:
            self.check_identity()
        name = self.config.stack_name(role)
        with self.errors(f"read stack {name}"):
            try:
                stacks = self.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
            except ClientError as error:
                if "does not exist" not in error.response.get("Error", {}).get("Message", ""):
                    raise
                raise CommandError(
                    f"stack {name} is not deployed in {self.region}; {deploy_hint(self.config)}"
                ) from None
        stack = stacks[0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self._stack_status[role] = stack.get("StackStatus", "?")
        self.outputs[role] = outputs
        return outputs

    def output(self, role: str, key: str) -> str:
        outputs = self.stack_outputs(role)
        if key not in outputs:
            name = self.config.stack_name(role)
            status = self._stack_status.get(role)
            state = f" (stack status {status})" if status else ""
            raise CommandError(
                f"stack {name} has no output {key}{state}; it predates this version of the code, "
                f"{deploy_hint(self.config)}"
            )
        return outputs[key]


def stack_outputs(stage: str | None = None, role: str = "storage", **kwargs: Any) -> dict[str, str]:
    """The CloudFormation outputs of one stack of ``stage`` (``role``: storage or pipeline).

    Raises CommandError (one line) for missing credentials, wrong account or a stack not deployed.
    Keyword arguments go to :class:`Deployed` (``session=``, ``clients=``).
    """
    if role not in STACK_ROLES:
        raise ValueError(f"role must be one of {', '.join(STACK_ROLES)}")
    return dict(Deployed.from_stage(stage, **kwargs).stack_outputs(role))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise CommandError(f"not an s3://bucket/key URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key
