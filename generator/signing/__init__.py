"""Signing and after: PAdES signatures, verifying them and the signed content, the
participants' acceptances."""
