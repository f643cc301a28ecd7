"""Form helpers shared by the apps' admin forms."""

from __future__ import annotations

from typing import Any, ClassVar

from core.text import validate_one_line


class OneLineFieldsMixin:
    """Shows the one-line rule beside each named field (the typed text kept for correction);
    the service that saves the form applies the same rule again, so it never depends on this."""

    one_line_fields: ClassVar[tuple[str, ...]] = ()
    fields: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.one_line_fields:
            if name in self.fields:
                self.fields[name].validators.append(validate_one_line)
