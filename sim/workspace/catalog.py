"""Tables whose columns a workspace knows before any post creates them.

The Logs Ingestion API never creates columns: a table must exist first. A
workspace that only ever hears from the Logs Ingestion API still needs
``secRMM_CL``, so its columns come from Microsoft Sentinel's published schema
of the table (33 columns: the system columns and the ones below, every one a
string; ``secrmm.md`` §1.4).
"""

from __future__ import annotations

from .columns import ColumnType

__all__ = ["table_declaration"]

#: secRMM's posted fields in the order of the real rows; all land as ``_s``
#: columns except ``Message`` (bare) and ``Computer`` (a system column).
_SECRMM_FIELDS = (
    "Event", "Time", "User", "UserSID", "Drive", "Volume", "DeviceDescription",
    "SerialNumber", "Model", "InternalID", "TargetFile", "SourceFile",
    "SourceFileSize", "SourceFileLastWrite", "ProgramName", "ProgramPID", "Message",
    "PropertyName", "PropertyAction", "PropertyValue", "PreviousPropertyValue",
    "ConfigurationTarget", "PropertyOperationStatus", "AdditionalProgramInfo",
)  # fmt: skip

_DECLARATIONS: dict[str, list[tuple[str, ColumnType, str]]] = {
    "secRMM_CL": [
        (field if field == "Message" else f"{field}_s", ColumnType.STRING, field)
        for field in _SECRMM_FIELDS
    ],
}


def table_declaration(table: str) -> list[tuple[str, ColumnType, str]] | None:
    """(column, type, property) for each posted column of ``table``, if known."""
    declared = _DECLARATIONS.get(table)
    return list(declared) if declared is not None else None
