"""The storage promises, asserted per bucket and per stage on the synthesized templates."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.replica_stack import REPLICATED_PURPOSES

DATA_PURPOSES = ("raw", "transformed", "curated", "query-results")


def bucket_by_name(synthesized, stack: str, name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in synthesized.resources(stack, "AWS::S3::Bucket").items():
        if resource["Properties"].get("BucketName") == name:
            return logical_id, resource
    raise AssertionError(f"no bucket named {name} in {stack}")


def all_buckets(synthesized):
    """(stack, logical id, resource) for every bucket of the app."""
    for stack in ("Storage", "Replica"):
        for logical_id, resource in synthesized.resources(stack, "AWS::S3::Bucket").items():
            yield stack, logical_id, resource


def only_key(synthesized, stack: str) -> str:
    keys = synthesized.resources(stack, "AWS::KMS::Key")
    assert len(keys) == 1, f"{stack} must hold exactly one customer-managed key, found {sorted(keys)}"
    return next(iter(keys))


def data_buckets(synthesized):
    """(stack, purpose, bucket name) for every KMS-encrypted data bucket, replicas included."""
    config = synthesized.config
    for purpose in DATA_PURPOSES:
        yield "Storage", purpose, config.bucket_name(purpose)
    for purpose in REPLICATED_PURPOSES:
        yield "Replica", purpose, config.bucket_name(purpose, replica=True)


def test_one_rotated_aliased_key_per_region(synthesized):
    for stack in ("Storage", "Replica"):
        key_id = only_key(synthesized, stack)
        key = synthesized.templates[stack]["Resources"][key_id]["Properties"]
        assert key["EnableKeyRotation"] is True
        aliases = synthesized.resources(stack, "AWS::KMS::Alias")
        assert [a["Properties"]["TargetKeyId"] for a in aliases.values()] == [{"Fn::GetAtt": [key_id, "Arn"]}]
        assert all(a["Properties"]["AliasName"].startswith("alias/vdap-") for a in aliases.values())


def test_key_policy_only_delegates_to_the_account(synthesized):
    for stack in ("Storage", "Replica"):
        key = synthesized.templates[stack]["Resources"][only_key(synthesized, stack)]["Properties"]
        for statement in key["KeyPolicy"]["Statement"]:
            principal = statement["Principal"]
            assert principal != "*" and principal.get("AWS") != "*"
            # the account root (IAM decides) or a service principal narrowed by conditions; EventBridge
            # to an encrypted topic is the documented exception (no source conditions supported,
            # tests/stacks/test_service_principals.py cites the SNS guide), and only for the alerts
            if statement.get("Sid") == "AllowEventBridgeToPublishEncryptedAlerts":
                assert principal == {"Service": "events.amazonaws.com"}
                assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
                continue
            assert "Condition" in statement or principal == {
                "AWS": f"arn:aws:iam::{synthesized.config.account}:root"
            }


def test_every_bucket_is_private_owner_enforced_and_logged(synthesized):
    config = synthesized.config
    for stack, logical_id, bucket in all_buckets(synthesized):
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}, (
            logical_id
        )
        if "access-logs" in props["BucketName"]:
            continue
        log_bucket_id, _ = bucket_by_name(
            synthesized, stack, config.bucket_name("access-logs", replica=stack == "Replica")
        )
        assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": log_bucket_id}, logical_id
        assert props["LoggingConfiguration"]["LogFilePrefix"].endswith("/")


def test_every_bucket_denies_plain_http_and_old_tls(synthesized):
    for stack in ("Storage", "Replica"):
        buckets = synthesized.resources(stack, "AWS::S3::Bucket")
        policies = {
            p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]["Statement"]
            for p in synthesized.resources(stack, "AWS::S3::BucketPolicy").values()
        }
        assert set(policies) == set(buckets)
        for logical_id, statements in policies.items():
            denies = [s for s in statements if s["Effect"] == "Deny"]
            conditions = [
                s["Condition"] for s in denies if s["Principal"] == {"AWS": "*"} and s["Action"] == "s3:*"
            ]
            assert {"Bool": {"aws:SecureTransport": "false"}} in conditions, logical_id
            assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions, logical_id


def test_data_buckets_use_their_regions_key_with_bucket_keys_and_versioning(synthesized):
    for stack, _purpose, name in data_buckets(synthesized):
        _logical_id, bucket = bucket_by_name(synthesized, stack, name)
        props = bucket["Properties"]
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": [only_key(synthesized, stack), "Arn"]},
        }, name
        assert rule["BucketKeyEnabled"] is True, name
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name


def test_access_log_buckets_use_sse_s3(synthesized):
    config = synthesized.config
    for stack, replica in (("Storage", False), ("Replica", True)):
        _, bucket = bucket_by_name(synthesized, stack, config.bucket_name("access-logs", replica=replica))
        encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert [r.get("ExpirationInDays") for r in rules] == [config.storage.access_log_retention_days]


def lifecycle(synthesized, stack: str, name: str) -> list[dict[str, Any]]:
    return bucket_by_name(synthesized, stack, name)[1]["Properties"]["LifecycleConfiguration"]["Rules"]


def test_data_buckets_abort_uploads_and_expire_noncurrent_versions(synthesized):
    days = synthesized.config.storage.noncurrent_version_retention_days
    for stack, purpose, name in data_buckets(synthesized):
        rules = lifecycle(synthesized, stack, name)
        assert all(r["Status"] == "Enabled" for r in rules)
        assert any(r.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 7} for r in rules), name
        if purpose == "query-results":
            continue  # query results expire whole, versions after a day: asserted below
        assert any(r.get("NoncurrentVersionExpiration") == {"NoncurrentDays": days} for r in rules), name


def test_raw_moves_to_infrequent_access_and_query_results_expire(synthesized):
    config = synthesized.config
    raw = lifecycle(synthesized, "Storage", config.bucket_name("raw"))
    assert {
        "StorageClass": "STANDARD_IA",
        "TransitionInDays": config.storage.raw_infrequent_access_after_days,
    } in [t for r in raw for t in r.get("Transitions", [])]
    results = lifecycle(synthesized, "Storage", config.bucket_name("query-results"))
    assert [r["ExpirationInDays"] for r in results if "ExpirationInDays" in r] == [
        config.storage.query_results_retention_days
    ]
    for purpose in ("transformed", "curated"):
        rules = lifecycle(synthesized, "Storage", config.bucket_name(purpose))
        assert not any("Transitions" in r or "ExpirationInDays" in r for r in rules), purpose


@pytest.mark.parametrize("purpose", REPLICATED_PURPOSES)
def test_replication_to_backup_region_is_kms_aware(synthesized, purpose):
    config = synthesized.config
    _, bucket = bucket_by_name(synthesized, "Storage", config.bucket_name(purpose))
    replication = bucket["Properties"]["ReplicationConfiguration"]
    (rule,) = replication["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    replica_name = config.bucket_name(purpose, replica=True)
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{replica_name}"
    key_ref = rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"]["Fn::GetStackOutput"]
    assert key_ref["StackName"] == config.stack_name("replica")
    assert key_ref["Region"] == config.backup_region
    replica_key_id = only_key(synthesized, "Replica")
    outputs = synthesized.templates["Replica"]["Outputs"]
    assert outputs[key_ref["OutputName"]]["Value"] == {"Fn::GetAtt": [replica_key_id, "Arn"]}
    # the destination exists in the backup stack, versioned
    _, replica = bucket_by_name(synthesized, "Replica", replica_name)
    assert replica["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}


def test_each_replicated_bucket_has_its_own_least_privilege_role(synthesized):
    config = synthesized.config
    roles = set()
    policies = synthesized.resources("Storage", "AWS::IAM::Policy")
    for purpose in REPLICATED_PURPOSES:
        _, bucket = bucket_by_name(synthesized, "Storage", config.bucket_name(purpose))
        role_id = bucket["Properties"]["ReplicationConfiguration"]["Role"]["Fn::GetAtt"][0]
        roles.add(role_id)
        (policy,) = [p for p in policies.values() if p["Properties"]["Roles"] == [{"Ref": role_id}]]
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert all(s["Resource"] != "*" for s in statements), purpose
        actions = {
            a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        assert actions == {
            "s3:GetReplicationConfiguration",
            "s3:ListBucket",
            "s3:GetObjectVersionForReplication",
            "s3:GetObjectVersionAcl",
            "s3:GetObjectVersionTagging",
            "s3:ReplicateObject",
            "s3:ReplicateDelete",
            "s3:ReplicateTags",
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey",
        }
    assert len(roles) == len(REPLICATED_PURPOSES)
    role_names = [
        r["Properties"].get("RoleName") for r in synthesized.resources("Storage", "AWS::IAM::Role").values()
    ]
    assert "CDKReplicationRole" not in role_names


def test_query_results_are_not_replicated(synthesized):
    _, bucket = bucket_by_name(synthesized, "Storage", synthesized.config.bucket_name("query-results"))
    assert "ReplicationConfiguration" not in bucket["Properties"]


def test_buckets_and_keys_are_retained_by_default(synthesized):
    for stack in ("Storage", "Replica"):
        for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key"):
            for logical_id, resource in synthesized.resources(stack, resource_type).items():
                assert resource["DeletionPolicy"] == "Retain", logical_id
                assert resource["UpdateReplacePolicy"] == "Retain", logical_id
        assert not synthesized.resources(stack, "Custom::S3AutoDeleteObjects")


def test_dev_may_destroy_only_when_its_config_allows(synthesize):
    destroyable = synthesize("dev", allow_destroy=True)
    for stack in ("Storage", "Replica"):
        buckets = destroyable.resources(stack, "AWS::S3::Bucket")
        for logical_id, resource in buckets.items():
            assert resource["DeletionPolicy"] == "Delete", logical_id
        emptied = {
            r["Properties"]["BucketName"]["Ref"]
            for r in destroyable.resources(stack, "Custom::S3AutoDeleteObjects").values()
        }
        assert emptied == set(buckets)
        for resource in destroyable.resources(stack, "AWS::KMS::Key").values():
            assert resource["DeletionPolicy"] == "Delete"


TAGGED_TYPES = ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::IAM::Role")


def test_every_taggable_resource_carries_the_platform_tags(synthesized):
    config = synthesized.config
    expected = {
        "project": "vancouver-dap",
        "stage": config.stage,
        "owner": config.owner,
        "data-classification": config.data_classification,
    }
    for stack in ("Storage", "Replica"):
        for resource_type in TAGGED_TYPES:
            for logical_id, resource in synthesized.resources(stack, resource_type).items():
                tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
                assert expected.items() <= tags.items(), logical_id
