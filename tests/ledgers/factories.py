"""Factories of the collector kit's models."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from ledgers.models import CollectorRun
from whales.models import RunStatus


class CollectorRunFactory(DjangoModelFactory):
    class Meta:
        model = CollectorRun

    collector = "test.collector"
    started_at = factory.LazyFunction(timezone.now)
    status = RunStatus.OK
