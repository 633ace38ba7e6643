"""The classifier slot: `classify(kind, bytes) -> {label: score}`, modelled on
python-threatexchange's `Classifier`. A score only sets an item's queue priority and routes it
to the "likely new" queue; it is never a verdict, never sent outward, never grades, and its
model and version are stored with it.

Implementations are found by entry point (group `hotline.classifiers`, a factory taking the
settings) beside two built-ins: `stand_in` (benign, for demos: it scores how colourful an
image is, nothing more) and `http` (an external scoring service, by URL and key, reached
through the SSRF-guarded transport).
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import httpx

from hotline.assess.fetcher import FetchPolicy, SafeTransport

if TYPE_CHECKING:
    from hotline.config import Settings

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "hotline.classifiers"
MAX_LABELS = 50
MAX_ANSWER_BYTES = 64 * 1024


class ClassifierError(Exception):
    """The classifier gave no usable answer; the item keeps its default priority."""


@runtime_checkable
class Classifier(Protocol):
    name: str
    version: str

    def classify(self, kind: str, data: bytes) -> dict[str, float]:
        """Scores from 0 to 1 by label, for media of `kind` ("image" or "video")."""
        ...


def checked_scores(raw: object) -> dict[str, float]:
    """A classifier's answer made safe to store, or ClassifierError."""
    if not isinstance(raw, dict) or len(raw) > MAX_LABELS:
        raise ClassifierError("scores must be an object of at most 50 labels")
    scores: dict[str, float] = {}
    for label, score in raw.items():
        if not isinstance(label, str) or not 0 < len(label) <= 64:
            raise ClassifierError("a label must be text of 1 to 64 characters")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise ClassifierError(f"the score of {label!r} is not a number")
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise ClassifierError(f"the score of {label!r} is not from 0 to 1")
        scores[label] = float(score)
    return scores


class StandInClassifier:
    """A benign stand-in for demos: the share of an image's pixels that are strongly
    coloured. It knows nothing about content; it only shows the slot working."""

    name = "stand_in"
    version = "1"

    def classify(self, kind: str, data: bytes) -> dict[str, float]:
        if kind != "image":
            return {"colourful": 0.0}
        from PIL import Image  # Pillow is a dependency already; imported only when used

        try:
            with Image.open(io.BytesIO(data)) as image:
                small = image.convert("HSV").resize((32, 32))
        except Exception as exc:  # a corrupt image scores nothing
            raise ClassifierError(f"unreadable image: {type(exc).__name__}") from exc
        saturation = small.getchannel("S").tobytes()
        saturated = sum(1 for s in saturation if s > 128)
        return {"colourful": round(saturated / 1024, 4)}


class HttpClassifier:
    """An external scoring service: POST the bytes (Content-Type application/octet-stream,
    `X-Media-Kind`, `Authorization: Bearer <key>`), answered with JSON
    `{"model": str, "version": str, "scores": {label: score}}`. The bytes go only to the
    configured service, through the SSRF-guarded transport."""

    name = "http"

    def __init__(self, url: str, key: str, policy: FetchPolicy, timeout_s: float = 10.0) -> None:
        self.url, self.version = url, "unknown"
        self._key = key
        self._client = httpx.Client(
            transport=SafeTransport(policy), trust_env=False, timeout=timeout_s
        )

    def classify(self, kind: str, data: bytes) -> dict[str, float]:
        try:
            headers = {"Content-Type": "application/octet-stream", "X-Media-Kind": kind}
            if self._key:
                headers["Authorization"] = f"Bearer {self._key}"
            response = self._client.post(self.url, content=data, headers=headers)
            body = response.read()
        except Exception as exc:  # the fetch errors and httpx's own: no answer either way
            raise ClassifierError(f"the scoring service did not answer: {exc}") from exc
        if response.status_code != 200 or len(body) > MAX_ANSWER_BYTES:
            raise ClassifierError(f"the scoring service answered HTTP {response.status_code}")
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise ClassifierError("the scoring service's answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise ClassifierError("the scoring service's answer is not an object")
        model, version = answer.get("model"), answer.get("version")
        if isinstance(model, str) and 0 < len(model) <= 64:
            self.name = f"http:{model}"
        if isinstance(version, str) and 0 < len(version) <= 64:
            self.version = version
        return checked_scores(answer.get("scores"))

    def close(self) -> None:
        self._client.close()


Factory = Callable[["Settings", FetchPolicy], Classifier]


def _stand_in(settings: Settings, policy: FetchPolicy) -> Classifier:
    return StandInClassifier()


def _http(settings: Settings, policy: FetchPolicy) -> Classifier:
    url = settings.crawl_classifier_url
    if not url:
        raise ClassifierError("HOTLINE_CRAWL_CLASSIFIER_URL is not set")
    return HttpClassifier(url, settings.crawl_classifier_key.get_secret_value(), policy)


BUILTIN: dict[str, Factory] = {"stand_in": _stand_in, "http": _http}


def discover(found: Iterable[EntryPoint] | None = None) -> dict[str, Factory]:
    """Built-ins and the factories published under `hotline.classifiers`; a plug-in that
    fails to load or takes a built-in's name is logged and skipped."""
    factories = dict(BUILTIN)
    points = entry_points(group=ENTRY_POINT_GROUP) if found is None else found
    for point in sorted(points, key=lambda p: p.name):
        if point.name in factories:
            log.error("classifier plug-in %r takes a name already used, refused", point.name)
            continue
        try:
            factories[point.name] = point.load()
        except Exception as exc:  # third-party import failure
            log.error("classifier plug-in %r could not be loaded, skipped: %r", point.name, exc)
    return factories


def classifier_from(settings: Settings, policy: FetchPolicy) -> Classifier | None:
    """The configured classifier (HOTLINE_CRAWL_CLASSIFIER), or None when none is."""
    name = settings.crawl_classifier
    if not name:
        return None
    factory = discover().get(name)
    if factory is None:
        raise ClassifierError(f"no classifier named {name!r}")
    return factory(settings, policy)
