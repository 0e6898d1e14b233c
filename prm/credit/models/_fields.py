"""Field choices shared by the credit models (the engine's names, translated labels)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BusinessLine(models.TextChoices):
    SMS = "sms", _("SMS")
    MMS = "mms", _("MMS")
    WAP = "wap", _("WAP")
    IVR = "ivr", _("IVR")
    CRBT = "crbt", _("Colour ring-back tone")
    OTHER = "other", _("Other")


class Degree(models.TextChoices):
    MINOR = "minor", _("Minor")
    ORDINARY = "ordinary", _("Ordinary")
    SERIOUS = "serious", _("Serious")
    VERY_SERIOUS = "very_serious", _("Very serious")


class Tier(models.TextChoices):
    """The same values as ``partners.Partner.Tier``."""

    A = "A", _("Tier A")
    B = "B", _("Tier B")
    C = "C", _("Tier C")
    ORDINARY = "ordinary", _("Ordinary")
    INSUFFICIENT = "insufficient_credit", _("Insufficient credit")


def money(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=16, decimal_places=2, **kwargs)
