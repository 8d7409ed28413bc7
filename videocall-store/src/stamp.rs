//! The instants the store writes: UTC, microsecond precision, and in SQLite fixed-width text.
//!
//! sqlx writes a `time::OffsetDateTime` to SQLite as RFC 3339 with as many fraction digits as
//! needed (`…:05Z`, `…:05.5Z`), which does not sort in time order (`Z` sorts after `.`). A
//! [`Stamp`] binds as `YYYY-MM-DDTHH:MM:SS.ffffffZ` instead, so `ORDER BY` on a time column is
//! right; PostgreSQL gets a plain `TIMESTAMPTZ`. Reading back needs nothing special: sqlx parses
//! this text (and `TIMESTAMPTZ`) into `OffsetDateTime` on its own.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArgumentBuffer;
use sqlx::sqlite::SqliteArgumentsBuffer;
use sqlx::{Encode, Postgres, Sqlite, Type};
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A UTC instant as the store binds it into a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp(OffsetDateTime);

impl Stamp {
    /// Now, cut to microseconds so that what is read back equals what was written on both
    /// backends (PostgreSQL keeps microseconds).
    pub(crate) fn now() -> Stamp {
        let now = OffsetDateTime::now_utc();
        Stamp(now - Duration::nanoseconds(i64::from(now.nanosecond() % 1_000)))
    }

    /// The fixed-width text SQLite stores.
    fn to_text(self) -> Result<String, time::error::Format> {
        let format = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        self.0.to_offset(UtcOffset::UTC).format(&format)
    }
}

impl Type<Sqlite> for Stamp {
    fn type_info() -> <Sqlite as sqlx::Database>::TypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for Stamp {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.to_text()?, buf)
    }
}

impl Type<Postgres> for Stamp {
    fn type_info() -> <Postgres as sqlx::Database>::TypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Stamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sqlite_text_has_six_fraction_digits_and_a_z() {
        let whole = Stamp(datetime!(2026-07-01 09:30:05 UTC));
        let half = Stamp(datetime!(2026-07-01 09:30:05.5 UTC));
        assert_eq!(whole.to_text().ok().as_deref(), Some("2026-07-01T09:30:05.000000Z"));
        assert_eq!(half.to_text().ok().as_deref(), Some("2026-07-01T09:30:05.500000Z"));
        assert!(whole.to_text().ok() < half.to_text().ok(), "text sorts in time order");
    }

    #[test]
    fn sqlite_text_is_utc_whatever_the_offset() {
        let paris = Stamp(datetime!(2026-07-01 11:30:05 +02:00));
        assert_eq!(paris.to_text().ok().as_deref(), Some("2026-07-01T09:30:05.000000Z"));
    }

    #[test]
    fn now_has_whole_microseconds() {
        assert_eq!(Stamp::now().0.nanosecond() % 1_000, 0);
    }
}
