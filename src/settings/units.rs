//! Human-written quantities in config files: durations (`"30s"`, `"5m"`, `"2h"`, `"3d"`) and
//! sizes (`"64KiB"`, `"10MiB"`).

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// A duration written as a number and a unit: `ms`, `s`, `m`, `h`, `d` (`"1h30m"` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

/// The longest duration a config may hold: a century. Anything longer is a typo, and a
/// `Duration` near `u64::MAX` seconds overflows the first time it is added to an instant.
pub const MAX_DURATION: Duration = Duration::from_secs(36_525 * 86_400);

/// Parses `"30s"`, `"5m"`, `"2h"`, `"3d"`, `"500ms"`, `"1h30m"`; refuses anything over
/// [`MAX_DURATION`] (checked arithmetic: no input overflows).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("an empty duration: write it like \"30s\", \"5m\", \"2h\" or \"3d\"".into());
    }
    let too_long = || format!("{text:?} is longer than 100 years");
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{text:?} is not a duration: write it like \"30s\", \"5m\", \"2h\" or \"3d\""
            ));
        }
        // Only digits, so the one way to fail is a number beyond u64.
        let n: u64 = rest[..digits].parse().map_err(|_| too_long())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let seconds_per = match unit.trim() {
            "ms" => None,
            "s" => Some(1),
            "m" | "min" => Some(60),
            "h" => Some(3600),
            "d" => Some(86_400),
            "" => {
                return Err(format!(
                    "{text:?} has no unit: write \"{n}s\", \"{n}m\", \"{n}h\" or \"{n}d\""
                ));
            }
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?}; use ms, s, m, h or d"
                ));
            }
        };
        let part = match seconds_per {
            None => Duration::from_millis(n),
            Some(per) => Duration::from_secs(n.checked_mul(per).ok_or_else(too_long)?),
        };
        total = total
            .checked_add(part)
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(too_long)?;
    }
    Ok(total)
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(HumanDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// A size in bytes written with a unit: `B`, `KiB`, `MiB`, `GiB` (or `KB`/`MB`/`GB`, read
/// the same way, since that is what people mean in config files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub usize);

/// Parses `"64KiB"`, `"10MiB"`, `"512B"`, `"1GB"`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let s = text.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 {
        return Err(format!(
            "{text:?} is not a size: write it like \"64KiB\" or \"10MiB\""
        ));
    }
    // Only digits, so the one way to fail is a number beyond usize.
    let n: usize = s[..digits]
        .parse()
        .map_err(|_| format!("{text:?} is too large"))?;
    let factor = match s[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use B, KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_size(&text)
            .map(ByteSize)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(259_200)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("").is_err());
    }

    /// Issue 15: `"18446744073709551615s1s"` made `leadgate check` panic (the sum overflowed)
    /// and `"999999999999999999d"` was taken as about 2.7e12 years.
    #[test]
    fn durations_that_overflow_or_exceed_a_century_are_refused() {
        for text in [
            "18446744073709551615s1s",
            "18446744073709551615s",
            "999999999999999999d",
            "18446744073709551615h",
            "213503982334601d",
            "36525d1s",
            "101d36500d",
            "99999999999999999999s",
        ] {
            let error = parse_duration(text).expect_err(text);
            assert!(error.contains("100 years"), "{text}: {error}");
        }
        assert_eq!(
            parse_duration("36525d"),
            Ok(Duration::from_secs(36_525 * 86_400)),
            "100 years is still a duration"
        );
        assert_eq!(parse_duration("18446744073709551615ms").ok(), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5TB").is_err());
    }

    #[test]
    fn sizes_that_overflow_are_refused() {
        for text in [
            "18446744073709551615GiB",
            "99999999999999999999",
            "17179869184GiB",
        ] {
            let error = parse_size(text).expect_err(text);
            assert!(error.contains("too large"), "{text}: {error}");
        }
    }
}
