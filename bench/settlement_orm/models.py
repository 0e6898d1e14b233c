"""The settlement input tables as Django models (benchmark only, no migrations).

Indexed on the number (and number + product) as a production schema would be.
"""

from __future__ import annotations

from django.db import models


class Record(models.Model):
    """A promoter's development record: the subscriber took the product on their word."""

    record_id = models.BigIntegerField(primary_key=True)
    promoter_id = models.BigIntegerField()
    msisdn = models.BigIntegerField()
    product_code = models.IntegerField()
    recommended_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["record_id"]
        indexes = [models.Index(fields=["msisdn", "product_code"], name="orm_record_number")]

    def __str__(self) -> str:
        return f"record {self.record_id}"


class Product(models.Model):
    """A version of a product's fee and rebate, valid from ``effective_from`` to ``_to``."""

    product_code = models.IntegerField(db_index=True)
    monthly_fee = models.DecimalField(max_digits=14, decimal_places=2)
    rebate = models.DecimalField(max_digits=14, decimal_places=2)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True)

    class Meta:
        ordering = ["product_code", "effective_from"]

    def __str__(self) -> str:
        return f"product {self.product_code} from {self.effective_from}"


class Subscriber(models.Model):
    """The billing system's snapshot of a number at settlement time."""

    msisdn = models.BigIntegerField(primary_key=True)
    activated_on = models.DateField()
    status = models.CharField(max_length=16)
    in_arrears = models.BooleanField()

    class Meta:
        ordering = ["msisdn"]

    def __str__(self) -> str:
        return str(self.msisdn)


class UsageMonthly(models.Model):
    """A number's voice usage in a month: first and last day with calls."""

    msisdn = models.BigIntegerField(db_index=True)
    month = models.DateField()
    first_voice_day = models.DateField(null=True)
    last_voice_day = models.DateField(null=True)
    voice_calls = models.IntegerField()

    class Meta:
        ordering = ["msisdn", "month"]

    def __str__(self) -> str:
        return f"{self.msisdn} {self.month:%Y-%m}"


class UsageDaily(models.Model):
    """A number's voice calls on a day."""

    msisdn = models.BigIntegerField(db_index=True)
    day = models.DateField()
    voice_calls = models.IntegerField()

    class Meta:
        ordering = ["msisdn", "day"]

    def __str__(self) -> str:
        return f"{self.msisdn} {self.day}"


class ProductChange(models.Model):
    """An unsubscription or modification of a product by the number."""

    msisdn = models.BigIntegerField()
    product_code = models.IntegerField()
    changed_at = models.DateTimeField()
    change_type = models.CharField(max_length=16)

    class Meta:
        ordering = ["changed_at"]
        indexes = [models.Index(fields=["msisdn", "product_code"], name="orm_change_number")]

    def __str__(self) -> str:
        return f"{self.msisdn} {self.product_code} {self.change_type}"


class Billing(models.Model):
    """What the number was billed for a product in a month."""

    msisdn = models.BigIntegerField()
    product_code = models.IntegerField()
    month = models.DateField()
    billed_amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["month"]
        indexes = [models.Index(fields=["msisdn", "product_code"], name="orm_billing_number")]

    def __str__(self) -> str:
        return f"{self.msisdn} {self.product_code} {self.month:%Y-%m}"


class RebateHistory(models.Model):
    """An earlier record of the number and product that was paid."""

    msisdn = models.BigIntegerField()
    product_code = models.IntegerField()
    recommended_at = models.DateTimeField()

    class Meta:
        ordering = ["recommended_at"]
        indexes = [models.Index(fields=["msisdn", "product_code"], name="orm_rebate_number")]

    def __str__(self) -> str:
        return f"{self.msisdn} {self.product_code} {self.recommended_at}"


class Complaint(models.Model):
    """A complaint of the number about a product (forced subscription or other)."""

    msisdn = models.BigIntegerField()
    product_code = models.IntegerField()
    complained_at = models.DateTimeField()
    kind = models.CharField(max_length=32)
    upheld = models.BooleanField()

    class Meta:
        ordering = ["complained_at"]
        indexes = [models.Index(fields=["msisdn", "product_code"], name="orm_complaint_number")]

    def __str__(self) -> str:
        return f"{self.msisdn} {self.product_code} {self.kind}"


class Verdict(models.Model):
    """The settlement verdict of one record: qualified or the failing reasons."""

    record_id = models.BigIntegerField(primary_key=True)
    promoter_id = models.BigIntegerField()
    msisdn = models.BigIntegerField()
    product_code = models.IntegerField()
    period = models.CharField(max_length=7)
    qualified = models.BooleanField()
    reasons = models.CharField(max_length=300, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["record_id"]

    def __str__(self) -> str:
        return f"verdict {self.record_id}"
