"""Base classes of every API view: the action-permission map and Idempotency-Key handling."""

from typing import Any, ClassVar, cast

from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import idempotency


class ApiView(APIView):
    """Claims the request's Idempotency-Key after authentication and stores the final response.

    Subclasses declare ``action_permissions`` (see ``core.api.permissions``)."""

    action_permissions: ClassVar[dict[str, str]] = {}
    _idempotency_claim: idempotency.Claim | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self._idempotency_claim = idempotency.claim(request)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, idempotency.Replay):
            return cast(Response, exc.response)
        try:
            return super().handle_exception(exc)
        except BaseException:
            # An unhandled error becomes a 500: let a retry with the same key run again.
            if self._idempotency_claim is not None:
                idempotency.release(self._idempotency_claim)
                self._idempotency_claim = None
            raise

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        held = self._idempotency_claim
        if held is not None:
            self._idempotency_claim = None
            try:
                if hasattr(response, "render"):
                    response.render()
                idempotency.complete(held, response)
            except Exception:
                idempotency.release(held)
                raise
        return response


class ApiViewSet(ApiView, viewsets.GenericViewSet):  # type: ignore[type-arg]
    pass
