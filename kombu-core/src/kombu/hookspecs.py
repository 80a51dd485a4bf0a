"""What a kombu plugin implements: the hook markers, the hook specifications and :class:`CodecSpec`.

This module imports nothing from kombu, so a plugin module (and the core's
own plugin, :mod:`kombu.core_plugin`) can import it without pulling in the
kernel, the codecs or any transport.  :mod:`kombu.plugins` re-exports every
name here; plugins usually write ``from kombu.plugins import hookimpl``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import pluggy

__all__ = ("PROJECT_NAME", "CodecSpec", "KombuHookSpecs", "hookimpl", "hookspec")

#: The pluggy project name: markers made for another project are ignored.
PROJECT_NAME = "kombu"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class CodecSpec(NamedTuple):
    """A serializer or compressor a plugin contributes.

    For a serializer, ``encode``/``decode`` are ``dumps``/``loads`` and
    ``content_encoding`` is ``"utf-8"`` or ``"binary"`` (``None``: ``encode``
    returns ``(payload, content_encoding)``, chosen per value); ``decode``
    may be ``None`` for an encode-only serializer.  For a compressor, they
    are ``compress``/``decompress`` and ``aliases`` lists other names
    (``name`` is one too).
    """

    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any] | None
    content_type: str
    content_encoding: str | None = "binary"
    aliases: tuple[str, ...] = ()


class KombuHookSpecs:
    """The hooks a kombu plugin may implement (each one is optional)."""

    @hookspec
    def kombu_transports(self) -> Mapping[str, Any]:  # type: ignore[empty-body]
        """Return ``{scheme_or_alias: TransportClass | "module:Class"}``.

        A string is imported only when the transport is first used.
        """

    @hookspec
    def kombu_transport_modules(self) -> Mapping[str, str]:  # type: ignore[empty-body]
        """Return ``{"kombu.transport.<name>": "your.module"}``: kombu's
        module paths this plugin answers, so that ``import
        kombu.transport.<name>`` gives ``your.module``."""

    @hookspec
    def kombu_serializers(self) -> Iterable[CodecSpec]:  # type: ignore[empty-body]
        """Return serializers to register (see :class:`CodecSpec`).

        Called on the first serializer lookup, not at discovery: import
        codec libraries here, not at module level.
        """

    @hookspec
    def kombu_compressors(self) -> Iterable[CodecSpec]:  # type: ignore[empty-body]
        """Return compressors to register (see :class:`CodecSpec`).

        Called on the first compressor lookup, not at discovery.
        """
