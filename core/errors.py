"""Domain errors raised by services.

The API turns them into JSON errors with their status; the
admin shows their message. Services never return HTTP responses themselves."""


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, object] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = fields


class NotAllowed(DomainError):
    """The actor may not do this (role, four eyes...)."""

    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The object is not in a state that allows this (a forbidden transition, a stale request)."""

    status_code = 409
    code = "conflict"


class Unprocessable(DomainError):
    status_code = 422
    code = "unprocessable"
