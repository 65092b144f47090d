//! The certificate expiry report (`rke cert check`): one line per certificate in the bundle.

use super::bundle::CertBundle;
use super::input::San;
use super::x509;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A certificate with fewer days left than this is flagged, by `rke cert check` and
/// `rke status` alike. RKE1 defines no warning threshold (it refuses only expired
/// certificates); 90 days leaves a quarter of a year to run `rke cert rotate`.
pub const EXPIRY_WARN_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertStatus {
    pub name: String,
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    /// RFC 3339, UTC.
    pub not_after: String,
    /// Whole days until expiry; negative once expired.
    pub days_left: i64,
    pub serial: String,
    /// Expires within [`EXPIRY_WARN_DAYS`] days, is expired, or could not be read.
    pub warning: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Status of every entry that holds a certificate (key-only entries are skipped), by name.
pub fn check(bundle: &CertBundle, now: OffsetDateTime) -> Vec<CertStatus> {
    bundle
        .iter()
        .filter(|(_, e)| !e.certificate_pem.is_empty())
        .map(|(name, e)| match status(name, &e.certificate_pem, now) {
            Ok(s) => s,
            Err(err) => CertStatus {
                name: name.clone(),
                subject: String::new(),
                issuer: String::new(),
                sans: Vec::new(),
                not_after: String::new(),
                days_left: 0,
                serial: String::new(),
                warning: true,
                error: Some(format!("{err:#}")),
            },
        })
        .collect()
}

fn status(name: &str, pem: &str, now: OffsetDateTime) -> anyhow::Result<CertStatus> {
    let der = x509::first_cert(pem)?;
    let facts = x509::facts(&x509::parse(&der)?)?;
    let days_left = (facts.not_after - now).whole_days();
    Ok(CertStatus {
        name: name.to_string(),
        subject: facts.subject,
        issuer: facts.issuer,
        sans: facts.sans.iter().map(San::to_string).collect(),
        not_after: facts.not_after.format(&Rfc3339)?,
        days_left,
        serial: facts.serial,
        warning: days_left < EXPIRY_WARN_DAYS,
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::bundle::CertificatePki;
    use crate::certs::input::KeyAlgorithm;
    use crate::certs::{issue, keys::Key};
    use time::Duration;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    #[test]
    fn reports_days_left_and_warns_near_expiry() {
        let key = Key::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let long = issue::self_signed_ca("long-ca", &key, now(), 3650).unwrap();
        let short = issue::self_signed_ca("short-ca", &key, now(), 30).unwrap();
        let mut bundle = CertBundle::new();
        bundle.insert(
            "a".into(),
            CertificatePki::rke1_entry("a", "", "", long, String::new()),
        );
        bundle.insert(
            "b".into(),
            CertificatePki::rke1_entry("b", "", "", short, String::new()),
        );
        bundle.insert(
            "c".into(),
            CertificatePki::rke1_entry("c", "", "", "junk".into(), String::new()),
        );
        bundle.insert(
            "d".into(),
            CertificatePki::rke1_entry("d", "", "", String::new(), "k".into()),
        );
        let report = check(&bundle, now() + Duration::days(1));
        assert_eq!(report.len(), 3);
        assert_eq!(report[0].subject, "CN=long-ca");
        assert_eq!(report[0].issuer, "CN=long-ca");
        assert_eq!(report[0].days_left, 3649);
        assert!(!report[0].warning);
        assert_eq!(report[0].not_after, "2033-11-11T22:13:20Z");
        assert!(report[0].serial.contains(':'));
        assert_eq!(report[1].days_left, 29);
        assert!(report[1].warning);
        assert!(report[2].warning && report[2].error.is_some());
        let json = serde_json::to_value(&report[0]).unwrap();
        assert!(json.get("error").is_none());
        assert_eq!(json["days_left"], 3649);
    }
}
