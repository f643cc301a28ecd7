"""Writes of the pilot switchboard (re-exported from the modules of this package)."""

from pilot.services.catalog import (
    feature_flag_create,
    feature_flag_update,
    template_version_create,
    template_version_frozen,
    template_version_update,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)
from pilot.services.change_requests import (
    change_request_approve,
    change_request_create,
    change_request_reject,
)
from pilot.services.config import (
    pilot_bootstrap,
    pilot_config_cache_refresh,
    pilot_disable,
    pilot_flag_off,
    pilot_initialise,
    pilot_pause,
    pilot_revert_template,
    pilot_seed_demo,
)
from pilot.services.rollbacks import rollback_record_code, rollback_step_tick
from pilot.services.webhooks import webhook_deliveries_due, webhook_delivery_attempt

__all__ = [
    "change_request_approve",
    "change_request_create",
    "change_request_reject",
    "feature_flag_create",
    "feature_flag_update",
    "pilot_bootstrap",
    "pilot_config_cache_refresh",
    "pilot_disable",
    "pilot_flag_off",
    "pilot_initialise",
    "pilot_pause",
    "pilot_revert_template",
    "pilot_seed_demo",
    "rollback_record_code",
    "rollback_step_tick",
    "template_version_create",
    "template_version_frozen",
    "template_version_update",
    "webhook_deliveries_due",
    "webhook_delivery_attempt",
    "webhook_subscription_create",
    "webhook_subscription_delete",
    "webhook_subscription_update",
]
