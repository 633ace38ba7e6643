"""The python-threatexchange exchange plug-in now lives in the member client,
`hotline_client.te_exchange` (distribution `hotline-client`, extra `threatexchange`), so a
member installs it without the server. This module re-exports it, so HMA and threatexchange
configurations that name `hotline.lists.te_exchange` keep working."""

from hotline_client.te_exchange import (
    API_NAME,
    DELTA_FILE,
    DELTA_FORMAT,
    DELTA_FORMAT_VERSION,
    PDQ_SIGNAL,
    TX_MANIFEST,
    VIDEO_MD5_SIGNAL,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_SIGNAL,
    HotlineAuthError,
    HotlineCheckpoint,
    HotlineCollabConfig,
    HotlineCredentials,
    HotlineExchangeError,
    HotlineSignalExchangeAPI,
    HotlineSignalMetadata,
)

__all__ = [
    "API_NAME",
    "DELTA_FILE",
    "DELTA_FORMAT",
    "DELTA_FORMAT_VERSION",
    "PDQ_SIGNAL",
    "TX_MANIFEST",
    "VIDEO_MD5_SIGNAL",
    "VPDQ_QUALITY_THRESHOLD",
    "VPDQ_SIGNAL",
    "HotlineAuthError",
    "HotlineCheckpoint",
    "HotlineCollabConfig",
    "HotlineCredentials",
    "HotlineExchangeError",
    "HotlineSignalExchangeAPI",
    "HotlineSignalMetadata",
]
