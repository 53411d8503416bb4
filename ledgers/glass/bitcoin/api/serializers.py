"""Serializers of the Bitcoin API (``/api/v1/glass/bitcoin/``)."""

from rest_framework import serializers

from ledgers.glass.bitcoin.models import MempoolStatus, MempoolTransaction, UrgencyBand


class ScorecardParamsSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, min_value=1, max_value=3650,
                                    help_text="Only whales first seen in the last N days (default: all).")


class BandCardSerializer(serializers.Serializer):
    band = serializers.CharField(help_text="low | medium | high | all")
    label = serializers.CharField()  # type: ignore[assignment]  # a field called "label" (DRF collects it)
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    replaced = serializers.IntegerField()
    dropped = serializers.IntegerField()
    resolved = serializers.IntegerField(help_text="confirmed + replaced + dropped")
    confirmed_percent = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True,
                                                 help_text="Share of the resolved ones; pending excluded.")
    replaced_percent = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    dropped_percent = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    median_time_to_confirm_s = serializers.FloatField(
        allow_null=True, help_text="Median of block time - first seen over the confirmed ones, seconds.")


class ScorecardSerializer(serializers.Serializer):
    since = serializers.DateTimeField(allow_null=True)
    total = serializers.IntegerField()
    overall = BandCardSerializer()
    bands = BandCardSerializer(many=True)


class MempoolListParamsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MempoolStatus.choices, required=False)
    band = serializers.ChoiceField(choices=UrgencyBand.choices, required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=100_000, default=0)


class MempoolTransactionSerializer(serializers.ModelSerializer):
    """One mempool whale. Units: ``fee_sat``/``value_sat``/``replacement_fee_sat``/``fee_bump_sat`` in sat,
    ``vsize_vb`` in vB, ``fee_rate_sat_vb`` in sat/vB; ``tx_hash`` the txid (64 hex, no ``0x``)."""

    whale_address = serializers.CharField(source="whale.address", default=None, allow_null=True)
    explorer_url = serializers.SerializerMethodField()

    class Meta:
        model = MempoolTransaction
        fields = ["tx_hash", "status", "first_seen_at", "observed_at", "last_seen_at", "fee_sat", "vsize_vb",
                  "fee_rate_sat_vb", "value_sat", "value_btc", "value_usd", "urgency", "urgency_band", "whale_address",
                  "has_full_tx", "details", "confirmed_block_number", "confirmed_block_hash", "confirmed_at",
                  "time_to_confirm_s", "replaced_by_tx_hash", "replacement_fee_sat", "fee_bump_sat", "ended_at",
                  "explorer_url"]
        read_only_fields = fields

    def get_explorer_url(self, obj: MempoolTransaction) -> str:
        from whales.chains import Chain, tx_url

        return tx_url(Chain.BITCOIN, obj.tx_hash)


class MempoolListSerializer(serializers.Serializer):
    items = MempoolTransactionSerializer(many=True)
    total = serializers.IntegerField()
