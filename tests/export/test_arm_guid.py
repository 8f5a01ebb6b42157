"""ARM's guid() reproduced, and role assignment names that apply, the az script and Bicep share."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from wizard.arm_guid import arm_guid, role_assignment_name
from wizard.azure.gateway import assignment_name

SCOPE = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/RG-Runner"
PRINCIPAL = "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"
ROLE = "4633458B-17DE-408A-B874-0445C86B69E6"


def test_known_vectors_evaluated_by_arms_own_expression_library() -> None:
    # Azure/bicep evaluates functions with ARM's expression library (Azure.Deployments.Expression):
    # src/Bicep.Core.Samples/Files/baselines_bicepparam/Expressions/parameters.json: guid('asdf')
    assert arm_guid("asdf") == "228d27cc-6fdb-5934-b7ac-1efccebade04"
    # src/Bicep.Core.UnitTests/TypeSystem/FunctionResolverTests.cs: guid('foo', 'bar', 'baz')
    assert arm_guid("foo", "bar", "baz") == "2ed86837-7c7c-5eaa-9864-dd077fd19b0d"


def test_arguments_are_joined_with_a_hyphen_and_not_case_folded() -> None:
    assert arm_guid("a", "b") == arm_guid("a-b") != arm_guid("ab")
    assert arm_guid("A") != arm_guid("a")


@given(st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",))), min_size=1, max_size=4))
def test_arm_guid_is_a_version_5_uuid_of_the_utf8_name(parts: list[str]) -> None:
    value = uuid.UUID(arm_guid(*parts))
    assert value.version == 5 and value.variant == uuid.RFC_4122
    assert str(value) == arm_guid(*parts)


def test_role_assignment_names_follow_biceps_normalisation() -> None:
    # guid(toLower(scope), toLower(principalId), toLower(roleGuid)), trailing slashes off the scope:
    # the convention of Bicep's getRoleAssignmentName (Azure/bicep#20293) and the AVM Terraform modules.
    expected = arm_guid(SCOPE.lower(), PRINCIPAL.lower(), ROLE.lower())
    assert role_assignment_name(SCOPE, PRINCIPAL, ROLE) == expected
    assert role_assignment_name(SCOPE.upper() + "/", PRINCIPAL, ROLE.lower()) == expected
    assert role_assignment_name(SCOPE, PRINCIPAL, ROLE) != role_assignment_name(SCOPE + "x", PRINCIPAL, ROLE)


def test_apply_names_assignments_the_same_way() -> None:
    assert assignment_name(SCOPE, PRINCIPAL, ROLE) == role_assignment_name(SCOPE, PRINCIPAL, ROLE)
