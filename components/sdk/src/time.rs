//! RFC 3339 timestamps to and from milliseconds since the epoch, UTC.
//!
//! Vendors send ISO-8601 strings; the contract speaks epoch milliseconds.
//! The conversion is a few lines of civil-calendar arithmetic (Howard
//! Hinnant's `days_from_civil`), so connectors do not need a date crate in
//! the guest.

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub fn format_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`.
pub fn parse_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &text[start..i.min(start + 3)];
        millis = frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
    }
    let offset_minutes = match &text[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && tz.as_bytes()[3] == b':' => offset(tz, &tz[1..3], &tz[4..6])?,
        tz if tz.len() == 5 => offset(tz, &tz[1..3], &tz[3..5])?,
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi - offset_minutes) * 60_000 + s * 1000 + millis)
}

fn offset(tz: &str, hours: &str, minutes: &str) -> Option<i64> {
    let sign = match tz.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h: i64 = hours.parse().ok()?;
    let m: i64 = minutes.parse().ok()?;
    Some(sign * (h * 60 + m))
}

/// How far ahead of the guest's own clock a vendor's `Date` may be before
/// it is not believed.
const VENDOR_CLOCK_AHEAD_MS: i64 = 15 * 60_000;

/// Where a vendor's log that keeps `days` days begins, by the vendor's own
/// clock (the response's `Date` header); `None` when it sends no readable
/// date. For connectors whose activity source forgets old events.
///
/// A `Date` in the future (a broken or hostile clock) would move the start
/// of the log forward, and a connector that reads from there would miss
/// every recent sign-in and make active people look idle; a `Date` more
/// than a quarter of an hour ahead of the guest's own clock is replaced by
/// that clock.
pub fn log_kept_from(response: &crate::http::Response, days: i64) -> Option<i64> {
    let own = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    kept_from(response.header("date").and_then(parse_http_date), own, days)
}

fn kept_from(vendor_now: Option<i64>, own_now: Option<i64>, days: i64) -> Option<i64> {
    const DAY_MS: i64 = 86_400_000;
    let now = match (vendor_now?, own_now) {
        (vendor, Some(own)) if vendor > own.saturating_add(VENDOR_CLOCK_AHEAD_MS) => own,
        (vendor, _) => vendor,
    };
    Some(now.saturating_sub(days.saturating_mul(DAY_MS)))
}

/// Parses an HTTP date (RFC 9110 IMF-fixdate, `Thu, 03 Dec 2026 10:28:14
/// GMT`), as in a `Date` header: the vendor's clock, for a guest that has
/// none of its own.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().split(' ');
    let (_weekday, day, month, year, clock, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let digits = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (day, year) = (digits(day)?, digits(year)?);
    let mut hms = clock.split(':');
    let (h, mi, sec) = (
        digits(hms.next()?)?,
        digits(hms.next()?)?,
        digits(hms.next()?)?,
    );
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + sec) * 1000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_http_dates() {
        assert_eq!(
            parse_http_date("Thu, 03 Dec 2026 10:28:14 GMT"),
            parse_millis("2026-12-03T10:28:14Z")
        );
        assert_eq!(parse_http_date("Thu, 03 Dec 2026 10:28:14 UTC"), None);
        assert_eq!(parse_http_date("Thu, 03 Dek 2026 10:28:14 GMT"), None);
        assert_eq!(parse_http_date("yesterday"), None);
    }

    use super::*;

    #[test]
    fn a_vendor_clock_in_the_future_does_not_move_the_log_forward() {
        const DAY: i64 = 86_400_000;
        let own = parse_millis("2026-12-03T10:00:00Z").unwrap();
        // A vendor a few minutes ahead is believed.
        assert_eq!(
            kept_from(Some(own + 60_000), Some(own), 90),
            Some(own + 60_000 - 90 * DAY)
        );
        // One a year ahead is not: the guest's own clock stands in.
        assert_eq!(
            kept_from(Some(own + 365 * DAY), Some(own), 90),
            Some(own - 90 * DAY)
        );
        // Without its own clock the guest has only the vendor's.
        assert_eq!(kept_from(Some(own), None, 30), Some(own - 30 * DAY));
        assert_eq!(kept_from(None, Some(own), 30), None);
        let response = crate::http::Response {
            status: 200,
            headers: vec![("Date".into(), "Fri, 31 Dec 9999 23:59:59 GMT".into())],
            body: vec![],
        };
        let start = log_kept_from(&response, 90).unwrap();
        assert!(
            start < parse_millis("2100-01-01T00:00:00Z").unwrap(),
            "{start}"
        );
    }

    #[test]
    fn round_trips_and_parses_vendor_formats() {
        assert_eq!(parse_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_millis("2024-05-02T08:15:30.123Z"),
            Some(1_714_637_730_123)
        );
        assert_eq!(
            parse_millis("2024-05-02T10:15:30.123+02:00"),
            Some(1_714_637_730_123)
        );
        assert_eq!(
            parse_millis("2024-05-02T03:15:30.1234-0500"),
            Some(1_714_637_730_123)
        );
        assert_eq!(
            parse_millis("2024-06-28T14:03:11Z"),
            Some(1_719_583_391_000)
        );
        assert_eq!(format_millis(1_714_637_730_123), "2024-05-02T08:15:30.123Z");
        assert_eq!(format_millis(-1), "1969-12-31T23:59:59.999Z");
        for ms in [0, 951_782_400_000, 4_102_444_800_000, 1_709_164_800_000] {
            assert_eq!(parse_millis(&format_millis(ms)), Some(ms));
        }
        for bad in [
            "",
            "2024-05-02",
            "2024-13-02T00:00:00Z",
            "2024-05-02T00:00:00",
            "2024-05-02T00:00:00.Z",
            "2024-05-02T00:00:00+2",
        ] {
            assert_eq!(parse_millis(bad), None, "{bad}");
        }
    }
}
