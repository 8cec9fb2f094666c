"""Observations: facts about media that are not matched against banks (AI provenance,
decode warnings). One module per inspector. Imports only ``veil.media``."""
