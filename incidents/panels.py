"""What other apps add to the incident change page.

incidents sits below pilot, ledger_audit and console and imports none of them, yet its page shows
their parts of an incident: the deadlines with live countdowns, the timeline exports, the blast
radius, the button beside a checklist step that does the step. Each of those apps registers its
part here from its ``AppConfig.ready()``, with its own template under its own templates dir; the
change form renders whatever is registered, in order, and knows nothing else about it.

Two kinds of contribution:

- a **panel**: ``template`` is included with ``panel`` bound to ``context(incident=…, user=…)``
  (and the change form's own context, where ``original`` is the incident). Panels whose ``order``
  is below ``CHECKLIST_ORDER`` sit above the runbook checklist, the others below it; all of them
  come before the incident's own fields.
- **step buttons**: ``buttons(incident=…, user=…)`` maps a checklist step's bound action to the
  button that does it, shown in that step's row while the step is open.

Registering again under the same name replaces the earlier entry, so a second ``ready()`` (test
runners, autoreload) never shows a panel twice.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from incidents.models import Incident

# Where the runbook checklist sits among the panels.
CHECKLIST_ORDER = 100


class PanelContext(Protocol):
    def __call__(self, *, incident: Incident, user: Any) -> object: ...


class StepButton(Protocol):
    """A link to the confirmation page of the act a checklist step is bound to."""

    @property
    def action(self) -> str: ...
    @property
    def label(self) -> Any: ...  # str or a lazy translation
    @property
    def url(self) -> str: ...
    @property
    def danger(self) -> bool: ...


class StepButtons(Protocol):
    def __call__(self, *, incident: Incident, user: Any) -> Mapping[str, StepButton]: ...


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: PanelContext
    order: int


@dataclass(frozen=True)
class ShownPanel:
    name: str
    template: str
    context: object


@dataclass(frozen=True)
class IncidentPanels:
    above_checklist: list[ShownPanel]
    below_checklist: list[ShownPanel]
    step_buttons: dict[str, StepButton]


_panels: dict[str, Panel] = {}
_step_buttons: dict[str, StepButtons] = {}


def register_panel(*, name: str, template: str, context: PanelContext, order: int) -> None:
    _panels[name] = Panel(name=name, template=template, context=context, order=order)


def register_step_buttons(*, name: str, buttons: StepButtons) -> None:
    _step_buttons[name] = buttons


def registered_panels() -> list[Panel]:
    return sorted(_panels.values(), key=lambda p: (p.order, p.name))


def incident_panels(*, incident: Incident, user: Any) -> IncidentPanels:
    """Every registered part of this incident's page, computed for this viewer."""
    above: list[ShownPanel] = []
    below: list[ShownPanel] = []
    for panel in registered_panels():
        shown = ShownPanel(
            name=panel.name,
            template=panel.template,
            context=panel.context(incident=incident, user=user),
        )
        (above if panel.order < CHECKLIST_ORDER else below).append(shown)
    buttons: dict[str, StepButton] = {}
    for provider in _step_buttons.values():
        buttons.update(provider(incident=incident, user=user))
    return IncidentPanels(above_checklist=above, below_checklist=below, step_buttons=buttons)
