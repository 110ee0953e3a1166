"""One JSON encoder for many values: json.dumps and JSONEncoder.encode make a new one per call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# The C encoder JSONEncoder itself uses; None where the interpreter has no C accelerator.
_C_ENCODER: Callable[..., Any] | None = getattr(json.encoder, "c_make_encoder", None)


def reusable_encoder(
    default: Callable[[Any], Any] | None = None, *, ensure_ascii: bool = True, accelerated: bool = True
) -> Callable[[Any], str]:
    """``JSONEncoder(default=..., ensure_ascii=..., check_circular=False).encode``, its C encoder made once.

    An export or an import encodes millions of small values; making the encoder cost as much
    as using it. The output is JSONEncoder's (a test holds them equal); with the defaults it
    is json.dumps's.
    """
    plain = json.JSONEncoder(default=default, ensure_ascii=ensure_ascii, check_circular=False)
    if not accelerated or _C_ENCODER is None:
        return plain.encode
    strings = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    chunks = _C_ENCODER(None, plain.default, strings, None, ": ", ", ", False, False, True)
    join = "".join
    return lambda value: join(chunks(value, 0))
