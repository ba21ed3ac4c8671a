"""Confined-space sessions as gateways report them (who is inside, since when, until when): the rows and their
intake from uplink batches. The live-operations view (``cloud.live``) and the alert rules read them."""
