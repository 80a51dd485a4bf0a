"""Which serializers the command can use here: registered *and* their library imports."""

from __future__ import annotations

from ..exceptions import SerializerNotInstalled

__all__ = ("serializer_available", "serializer_choices", "unknown_serializer")

#: Serializers whose library ships as a kombu-core extra.
_EXTRAS = {"msgpack": "msgpack", "yaml": "yaml"}


def serializer_available(name: str) -> bool:
    """Whether ``--serializer name`` can encode here."""
    from ..serialization import registry

    if name == "raw":
        return True
    try:
        registry.dumps("probe", serializer=name)
    except SerializerNotInstalled:
        return False
    except Exception:  # an encoder that cannot take a string still exists
        pass
    return True


def serializer_choices() -> tuple[list[str], dict[str, str]]:
    """``(available, unavailable)``: names that encode here, and name -> why not."""
    from ..serialization import registry

    registry._sync()  # plugin serializers are registered on first lookup
    available, unavailable = ["raw"], {}
    for name in sorted(registry._encoders):
        try:
            registry.dumps("probe", serializer=name)
        except SerializerNotInstalled as exc:
            unavailable[name] = str(exc)
        except Exception:  # an encoder that cannot take a string still works
            available.append(name)
        else:
            available.append(name)
    return sorted(available), unavailable


def unknown_serializer(name: str) -> str:
    """Why ``--serializer name`` cannot be used, and what to do instead."""
    available, unavailable = serializer_choices()
    if name in unavailable:
        return f"serializer {name!r} is not available: {unavailable[name]}"
    text = f"unknown serializer {name!r}: use one of {', '.join(available)}"
    missing = [f"{n} (pip install 'kombu-core[{_EXTRAS[n]}]')" if n in _EXTRAS else n
               for n in sorted(unavailable)]
    if missing:
        text += f"; not available until their library is installed: {', '.join(missing)}"
    return text
