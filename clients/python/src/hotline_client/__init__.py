"""hotline-client: what an industry member needs to use a hotline's hash lists.

- `MatchClient`, `AsyncMatchClient`: the match API (`POST /api/v1/match`) over httpx;
- `ListFetcher`, `apply_delta`: download a release or delta, verified, into a folder, and
  bring a local copy up to date, without the server;
- `verify_release`: check a downloaded release's Ed25519 signature and every file's SHA-256;
- `OfflineMatcher`: match hashes (and videos' vPDQ) against a verified release, no network;
- `hotline_client.vpdq`: the one video-matching rule, shared with the server and HMA;
- `hotline_client.te_exchange`: the python-threatexchange exchange plug-in (extra
  `threatexchange`), for HMA and the `threatexchange` CLI.

The server (distribution `hotline-server`) imports the rule, the release checks and the
plug-in from here, so there is one copy of each.
"""

from hotline_client.api import (
    AsyncMatchClient,
    FieldProblem,
    Match,
    MatchClient,
    MatchError,
    MatchResult,
    RateLimit,
    ResponseMeta,
)
from hotline_client.fetch import Applied, DeltaError, ListFetcher, apply_delta
from hotline_client.offline import OfflineMatcher
from hotline_client.release import Keyring, ReleaseError, VerifiedRelease, verify_release
from hotline_client.vpdq import VideoRule

__all__ = [
    "Applied",
    "AsyncMatchClient",
    "DeltaError",
    "FieldProblem",
    "Keyring",
    "ListFetcher",
    "Match",
    "MatchClient",
    "MatchError",
    "MatchResult",
    "OfflineMatcher",
    "RateLimit",
    "ReleaseError",
    "ResponseMeta",
    "VerifiedRelease",
    "VideoRule",
    "apply_delta",
    "verify_release",
]
__version__ = "0.1.0"
