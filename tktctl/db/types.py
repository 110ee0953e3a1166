"""Column types that behave alike on SQLite, PostgreSQL and MariaDB: aware UTC times, long text and binary."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    DateTime,
    LargeBinary,
    Text,
    TypeDecorator,
)

_NAIVE_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (microseconds kept on MySQL too), read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = _UTC_EPOCH + (value - _NAIVE_EPOCH)  # value.replace(tzinfo=timezone.utc), cheaper
        return value


class LongText(TypeDecorator[str]):
    """Text, LONGTEXT on MySQL: its TEXT stops at 64 KiB, which an email body can pass."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql

            return mysql.LONGTEXT()
        return self.impl_instance


class LongBinary(TypeDecorator[bytes]):
    """LargeBinary, LONGBLOB on MySQL: its BLOB stops at 64 KiB."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects import mysql

            return mysql.LONGBLOB()
        return self.impl_instance
