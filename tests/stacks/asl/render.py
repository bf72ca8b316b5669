"""A state machine's ``DefinitionString`` rendered as the ASL that Step Functions would receive.

CloudFormation resolves the ``Fn::Join`` before Step Functions parses the definition, so a validator
must see well-formed values where the tokens were: the partition, region and account as the stage's
real ones, an ARN of the right service where a field takes an ARN (``TopicArn``), a plain name
elsewhere. A ``${...}`` placeholder in a ``Resource`` or an ARN field would fail the ARN checks for a
reason that does not exist at deploy time. A token under an ARN field we have no shape for fails
loudly, so a new integration cannot pass with a wrong dummy.
"""

from __future__ import annotations

import json
import re
from typing import Any

SENTINEL = "@@TOKEN{}@@"
SENTINEL_RE = re.compile(r"@@TOKEN(\d+)@@")

# Field name -> the ARN that field takes; {name} is the token's readable name.
ARN_FIELDS = {
    "TopicArn": "arn:{partition}:sns:{region}:{account}:{name}",
    "StateMachineArn": "arn:{partition}:states:{region}:{account}:stateMachine:{name}",
}


def _token_name(token: dict[str, Any]) -> str:
    if "Ref" in token:
        raw = token["Ref"]
    elif "Fn::GetAtt" in token:
        raw = "-".join(token["Fn::GetAtt"])
    elif "Fn::GetStackOutput" in token:
        raw = token["Fn::GetStackOutput"]["OutputName"]
    else:
        raise ValueError(f"unexpected CloudFormation token {token}")
    return re.sub(r"[^A-Za-z0-9-]", "-", raw)[:64]


class TokenRenderer:
    """Renders the tokens of one ``Fn::Join`` for one stage's region and account."""

    def __init__(self, region: str, account: str, partition: str = "aws") -> None:
        self.pseudo = {
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.arn_values = {"partition": partition, "region": region, "account": account}

    def definition(self, definition_string: Any) -> dict[str, Any]:
        if isinstance(definition_string, str):
            return json.loads(definition_string)
        delimiter, parts = definition_string["Fn::Join"]
        tokens: list[dict[str, Any]] = []
        text = []
        for part in parts:
            if isinstance(part, str):
                text.append(part)
            else:
                text.append(SENTINEL.format(len(tokens)))
                tokens.append(part)
        return self._walk(json.loads(delimiter.join(text)), tokens, key=None)

    def _walk(self, value: Any, tokens: list[dict[str, Any]], key: str | None) -> Any:
        if isinstance(value, dict):
            return {k: self._walk(v, tokens, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v, tokens, key) for v in value]
        if isinstance(value, str) and SENTINEL_RE.search(value):
            whole = SENTINEL_RE.fullmatch(value) is not None
            return SENTINEL_RE.sub(lambda m: self._token(tokens[int(m.group(1))], key, whole), value)
        return value

    def _token(self, token: dict[str, Any], key: str | None, whole: bool) -> str:
        if token.get("Ref") in self.pseudo:
            return self.pseudo[token["Ref"]]
        name = _token_name(token)
        field = (key or "").removesuffix(".$")
        if whole and field.endswith("Arn"):
            if field not in ARN_FIELDS:
                raise ValueError(f"no ARN shape for field {field!r} (token {token}): add one to ARN_FIELDS")
            return ARN_FIELDS[field].format(name=name, **self.arn_values)
        return name
