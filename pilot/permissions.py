"""Permission names of the pilot switchboard (granted to roles in core/roles.py)."""

from enum import StrEnum


class PilotPerm(StrEnum):
    READ_CONFIG = "pilot.read_config"
    VIEW_REVISION = "pilot.view_configrevision"
    DISABLE = "pilot.disable_pilot"
    PAUSE = "pilot.pause_pilot"
    REVERT_TEMPLATE = "pilot.revert_template"
    FLAG_OFF = "pilot.switch_flag_off"
    # Filing change requests: anyone with ADD_CHANGE_REQUEST may request a resume ("enable");
    # REQUEST_ANY_CHANGE covers every other action.
    ADD_CHANGE_REQUEST = "pilot.add_changerequest"
    REQUEST_ANY_CHANGE = "pilot.request_any_change"
    VIEW_CHANGE_REQUEST = "pilot.view_changerequest"
    APPROVE_CHANGE_REQUEST = "pilot.approve_changerequest"
    APPROVE_CANCEL = "pilot.approve_cancel"
    VIEW_TEMPLATE_VERSION = "pilot.view_templateversion"
    ADD_TEMPLATE_VERSION = "pilot.add_templateversion"
    CHANGE_TEMPLATE_VERSION = "pilot.change_templateversion"
    ADD_FEATURE_FLAG = "pilot.add_featureflag"
    CHANGE_FEATURE_FLAG = "pilot.change_featureflag"
    VIEW_ROLLBACK = "pilot.view_rollbackrecord"
    ADD_ROLLBACK = "pilot.add_rollbackrecord"
    ADD_WEBHOOK = "pilot.add_webhooksubscription"
    CHANGE_WEBHOOK = "pilot.change_webhooksubscription"
    DELETE_WEBHOOK = "pilot.delete_webhooksubscription"
