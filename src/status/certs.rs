//! Certificate expiry for the report, from the `rke cert check` computation.

use time::OffsetDateTime;

use super::{CertExpiry, CertState};
use crate::certs::{self, CertBundle, EXPIRY_WARN_DAYS};

/// Every certificate of `bundle` (key-only entries skipped), by name, with its state at `now`.
pub fn certificate_expiry(bundle: &CertBundle, now: OffsetDateTime) -> Vec<CertExpiry> {
    certs::check(bundle, now)
        .into_iter()
        .map(|c| {
            let state = if c.error.is_some() {
                CertState::Unreadable
            } else if c.days_left < 0 {
                CertState::Expired
            } else if c.days_left < EXPIRY_WARN_DAYS {
                CertState::Expiring
            } else {
                CertState::Ok
            };
            CertExpiry {
                name: c.name,
                not_after: c.not_after,
                days_left: c.days_left,
                state,
                error: c.error,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::CertificatePki;
    use time::Duration;

    fn ca(name: &str, issued: OffsetDateTime, days: i64) -> CertificatePki {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_before = issued;
        params.not_after = issued + Duration::days(days);
        let pem = params.self_signed(&key).unwrap().pem();
        CertificatePki::rke1_entry(name, "", "", pem, String::new())
    }

    #[test]
    fn flags_certificates_by_days_left() {
        let issued = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let now = issued + Duration::days(1);
        let mut bundle = CertBundle::new();
        bundle.insert("long".into(), ca("long", issued, 3650));
        bundle.insert("soon".into(), ca("soon", issued, 20));
        // The threshold is `rke cert check`'s: 89 days left is flagged, 90 is not.
        bundle.insert("edge".into(), ca("edge", issued, EXPIRY_WARN_DAYS));
        bundle.insert("safe".into(), ca("safe", issued, EXPIRY_WARN_DAYS + 1));
        bundle.insert("gone".into(), ca("gone", issued - Duration::days(10), 5));
        bundle.insert(
            "junk".into(),
            CertificatePki::rke1_entry("junk", "", "", "junk".into(), String::new()),
        );
        let report = certificate_expiry(&bundle, now);
        let states: Vec<(&str, CertState, i64)> = report
            .iter()
            .map(|c| (c.name.as_str(), c.state, c.days_left))
            .collect();
        assert_eq!(
            states,
            [
                ("edge", CertState::Expiring, 89),
                ("gone", CertState::Expired, -6),
                ("junk", CertState::Unreadable, 0),
                ("long", CertState::Ok, 3649),
                ("safe", CertState::Ok, 90),
                ("soon", CertState::Expiring, 19),
            ]
        );
        assert_eq!(report[3].not_after, "2033-11-11T22:13:20Z");
        assert!(report[2].error.is_some());
    }
}
