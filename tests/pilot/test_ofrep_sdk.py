"""The kill switch read by a real OpenFeature SDK (``openfeature-sdk``) through the real OFREP
provider (``openfeature-provider-ofrep``) against the running app (``live_server``).

The provider asks the server on every evaluation (it keeps no flag cache), so "the SDK's next
evaluation after a disable" is exactly one request later: nothing to wait for."""

from collections.abc import Iterator

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from core.services import api_key_create
from pilot.services import pilot_disable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sdk(live_server, seeded, api_user) -> Iterator[OpenFeatureClient]:
    yield _sdk(live_server.url, api_key_create(name="platform", user=api_user).raw)
    api.clear_providers()


def _sdk(url: str, key: str) -> OpenFeatureClient:
    api.set_provider(
        OFREPProvider(url, headers_factory=lambda: {"Authorization": f"Bearer {key}"}, timeout=5)
    )
    return api.get_client()


def test_the_sdk_sees_the_kill_switch_flip_on_its_next_evaluation(sdk, operator) -> None:
    context = EvaluationContext(targeting_key="deal-42")
    before = sdk.get_boolean_details("enabled", False, context)
    assert (before.value, before.reason, before.variant) == (True, Reason.STATIC, "on")
    assert before.error_code is None
    assert sdk.get_string_value("template_version", "", context) == "v1"
    assert sdk.get_boolean_value("hotfix_timer_display", True) is False

    pilot_disable(actor=operator, reason="drill")

    after = sdk.get_boolean_details("enabled", True, context)
    assert (after.value, after.reason, after.error_code) == (False, Reason.STATIC, None)
    assert after.flag_metadata == {"revision": 2, "state": "disabled"}


def test_an_unknown_flag_gives_the_sdk_default_with_flag_not_found(sdk) -> None:
    details = sdk.get_boolean_details("no_such_flag", True)
    assert (details.value, details.reason) == (True, Reason.ERROR)
    assert details.error_code == ErrorCode.FLAG_NOT_FOUND


def test_a_flag_of_another_type_is_a_type_mismatch(sdk) -> None:
    details = sdk.get_boolean_details("template_version", False)
    assert (details.value, details.error_code) == (False, ErrorCode.TYPE_MISMATCH)


def test_a_bad_key_is_the_providers_auth_error(live_server, seeded) -> None:
    client = _sdk(live_server.url, "pcp_not_a_key")
    try:
        details = client.get_boolean_details("enabled", True)
    finally:
        api.clear_providers()
    assert (details.value, details.reason) == (True, Reason.ERROR)
    assert details.error_code == ErrorCode.GENERAL
    assert details.error_message == "unauthorized"  # the provider's word for a 401
