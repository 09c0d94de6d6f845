"""cdk-nag acknowledgements: each construct acknowledges the findings its own resources and
grants raise, with the reason a reviewer can check, next to what raises them."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

# Findings that recur on many roles, with one reason each.
XRAY = {
    "IAM5[Resource::*]": "X-Ray tracing: PutTraceSegments and PutTelemetryRecords have no resource-level permissions"
}


def key_grants(what: str) -> dict[str, str]:
    """CDK's grants on a customer-managed key: its data-key actions, on that key only."""
    return {
        "IAM5[Action::kms:GenerateDataKey*]": f"CDK's {what} grant: data keys of our own key only",
        "IAM5[Action::kms:ReEncrypt*]": f"CDK's {what} grant: re-encryption with our own key only",
    }


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    Validations.of(scope).acknowledge(
        *[
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-{finding}", reason=reason)
            for finding, reason in findings.items()
        ]
    )


def arn_of(construct: IConstruct) -> str:
    """How cdk-nag writes a resource's ARN in a finding: <LogicalId.Arn>."""
    return f"<{_logical_id(construct)}.Arn>"


def ref_of(construct: IConstruct) -> str:
    return f"<{_logical_id(construct)}>"


def _logical_id(construct: IConstruct) -> str:
    child = construct.node.default_child
    assert child is not None, f"{construct.node.path} has no CloudFormation resource of its own"
    return Stack.of(construct).get_logical_id(child)  # type: ignore[arg-type]  # a CfnElement


def invoke_grant(function: IConstruct) -> dict[str, str]:
    """CDK's grantInvoke names the function's versions and aliases too."""
    return {
        f"IAM5[Resource::{arn_of(function)}:*]": "CDK's grantInvoke also covers the function's versions and aliases"
    }


def distributed_map_grants(machine: IConstruct) -> dict[str, str]:
    """What CDK grants a state machine with a Distributed Map on its own executions."""
    executions = (
        'IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"'
        + ref_of(machine)[1:-1]
        + '"}]}]}'
    )
    return {
        executions + "/*:*]": "The Distributed Map starts and stops its own child executions",
        executions + ":*]": "The Distributed Map describes and redrives its own executions",
    }
