"""The one error model: every ``ApplicationError`` subclass any app defines is rendered by the project's one
handler as ``{"detail", "code"}`` with its own status, and a code means one status everywhere."""

import importlib
import pkgutil

import pytest
from django.apps import apps

from whales.errors import ApplicationError
from whaletrack.api import exception_handler


def _import_every_app_module() -> None:
    """Import each installed project app's modules so that every subclass is defined."""
    for config in apps.get_app_configs():
        if config.name.split(".")[0] not in {"whales", "ledgers", "alerts", "trading"}:
            continue
        module = importlib.import_module(config.name)
        for info in pkgutil.walk_packages(module.__path__, f"{config.name}."):
            if ".migrations" not in info.name and ".management" not in info.name and ".replay" not in info.name:
                importlib.import_module(info.name)


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


ERRORS = None


def every_error() -> list[type[ApplicationError]]:
    global ERRORS
    if ERRORS is None:
        _import_every_app_module()
        ERRORS = sorted(set(_subclasses(ApplicationError)), key=lambda c: f"{c.__module__}.{c.__qualname__}")
    return ERRORS


def test_the_apps_define_their_errors_as_application_errors():
    names = {f"{c.__module__}.{c.__qualname__}" for c in every_error()}
    assert {
        "whales.errors.InvalidParameter", "whales.errors.NotFound", "whales.errors.Conflict",
        "ledgers.errors.SourceUnavailable", "ledgers.errors.SourceError", "ledgers.registry.UnknownCollector",
        "ledgers.runlog.CollectorNotTriggerable", "trading.services.TradingError", "trading.services.OrderNotOpen",
        "trading.strategies.base.StrategyParamsError", "trading.crypto.CredentialsKeyMissing",
        "alerts.consumers.FilterError",
    } <= names


@pytest.mark.parametrize("error", [ApplicationError, *every_error()], ids=lambda c: c.__qualname__)
def test_the_handler_renders_each_error_with_its_own_code_and_status(error):
    response = exception_handler(error("what went wrong"), {})
    assert (response.status_code, response.data) == (error.status_code, {"detail": "what went wrong",
                                                                          "code": error.code})
    assert error().detail == error.default_detail  # a detail always reaches the client


def test_a_code_means_one_status():
    statuses: dict[str, set[int]] = {}
    for error in every_error():
        statuses.setdefault(error.code, set()).add(error.status_code)
    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}
