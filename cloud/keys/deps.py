"""The request's view of the cloud keys (``Keys``): read from the app's key store, 503 when there are none."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cloud.keys.service import Keyring, KeyStore


def get_keystore(request: Request) -> KeyStore:
    return request.app.state.keystore


def get_keyring(request: Request) -> Keyring:
    return get_keystore(request).keyring()


Keys = Annotated[Keyring, Depends(get_keyring)]
