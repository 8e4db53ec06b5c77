"""Outgoing HTTP, below federation and media: the guarded fetcher with its connection pools
and limits (`fetch`), the address policy checked at every URL, redirect and connect
(`addresses`), and the slots that bound key fetches (`key_slots`)."""
