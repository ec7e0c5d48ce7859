//! The date functions (`year`, `month`, `day_of_month`, `day_of_week`, `day_of_year`,
//! `days_in_month`, `hour`, `minute`) of a Unix time in seconds, in UTC, as Go's `time`
//! package gives them (the seconds truncated toward zero first).

use crate::time::{civil_from_days, days_from_civil};

/// The calendar part `name` of the time `seconds`; `None` for a name that is not one.
pub(super) fn part(name: &str, seconds: f64) -> Option<f64> {
    let s = seconds.trunc() as i64;
    let days = s.div_euclid(86_400);
    let in_day = s.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    Some(match name {
        "year" => year as f64,
        "month" => month as f64,
        "day_of_month" => day as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_year" => (days - days_from_civil(year, 1, 1) + 1) as f64,
        "days_in_month" => match month {
            2 if leap => 29.0,
            2 => 28.0,
            4 | 6 | 9 | 11 => 30.0,
            _ => 31.0,
        },
        "hour" => (in_day / 3600) as f64,
        "minute" => (in_day % 3600 / 60) as f64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn parts_of_known_times() {
        // 2024-02-29T13:45:30Z, a Thursday, day 60 of a leap year.
        let t = 1_709_214_330.9;
        let want = [
            ("year", 2024.0),
            ("month", 2.0),
            ("day_of_month", 29.0),
            ("day_of_week", 4.0),
            ("day_of_year", 60.0),
            ("days_in_month", 29.0),
            ("hour", 13.0),
            ("minute", 45.0),
        ];
        for (name, v) in want {
            assert_eq!(part(name, t), Some(v), "{name}");
        }
        // Before 1970: 1969-12-31T23:59:59Z was a Wednesday.
        assert_eq!(part("day_of_week", -1.0), Some(3.0));
        assert_eq!(part("hour", -1.0), Some(23.0));
        assert_eq!(part("days_in_month", 0.0), Some(31.0));
        assert_eq!(part("nope", 0.0), None);
    }
}
