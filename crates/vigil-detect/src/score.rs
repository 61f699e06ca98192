//! The security score (SPEC R-AL7): 100 at most, 10 at least, lowered by what is pending.
//!
//! Deductions, each module capped:
//!
//! | module | per item | cap |
//! |---|---|---|
//! | unhandled alerts | urgent 10, suspicious 5, reminder 1 | 40 |
//! | unfixed vulnerabilities | high 3, medium 1, low 0.5 | 30 |
//! | failed baseline checks | high 3, medium 2, low 1 | 20 |
//! | AccessKey leaks | 10 | 20 |
//!
//! Then, as the reference product does: any unhandled alert caps the score at 60, any unfixed
//! vulnerability at 80, any failed baseline check at 90. Bands: 95–100 secure, 85–94 a few
//! risks, 70–84 many risks, 69 and below high risk.

/// Any unhandled alert caps the score here.
pub const ALERTS_CAP: u32 = 60;
/// Any unfixed vulnerability caps the score here.
pub const VULNS_CAP: u32 = 80;
/// Any failed baseline check caps the score here.
pub const BASELINE_CAP: u32 = 90;

/// Pending items of one host (or of a fleet, summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub alerts_urgent: u64,
    pub alerts_suspicious: u64,
    pub alerts_reminder: u64,
    pub vulns_high: u64,
    pub vulns_medium: u64,
    pub vulns_low: u64,
    pub baseline_high: u64,
    pub baseline_medium: u64,
    pub baseline_low: u64,
    pub access_key_leaks: u64,
}

impl Pending {
    fn alerts(&self) -> u64 {
        self.alerts_urgent + self.alerts_suspicious + self.alerts_reminder
    }
    fn vulns(&self) -> u64 {
        self.vulns_high + self.vulns_medium + self.vulns_low
    }
    fn baseline(&self) -> u64 {
        self.baseline_high + self.baseline_medium + self.baseline_low
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Secure,
    FewRisks,
    ManyRisks,
    HighRisk,
}

impl Band {
    pub fn of(score: u32) -> Band {
        match score {
            95.. => Band::Secure,
            85..=94 => Band::FewRisks,
            70..=84 => Band::ManyRisks,
            _ => Band::HighRisk,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Band::Secure => "secure",
            Band::FewRisks => "a few risks",
            Band::ManyRisks => "many risks",
            Band::HighRisk => "high risk",
        }
    }
}

/// Points lost per module, after each module's cap, in display order.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub score: u32,
    pub band: Band,
    /// (module, points deducted) for modules that cost points, most costly first.
    pub deductions: Vec<(&'static str, f64)>,
    /// The presence cap that applied, if it was lower than the deductions left.
    pub capped_at: Option<u32>,
}

pub fn score(p: &Pending) -> Score {
    let module = |name, points: f64, cap: f64| (name, points.min(cap));
    let mut deductions = vec![
        module(
            "alerts",
            10.0 * p.alerts_urgent as f64
                + 5.0 * p.alerts_suspicious as f64
                + p.alerts_reminder as f64,
            40.0,
        ),
        module(
            "vulnerabilities",
            3.0 * p.vulns_high as f64 + p.vulns_medium as f64 + 0.5 * p.vulns_low as f64,
            30.0,
        ),
        module(
            "baseline",
            3.0 * p.baseline_high as f64 + 2.0 * p.baseline_medium as f64 + p.baseline_low as f64,
            20.0,
        ),
        module("access keys", 10.0 * p.access_key_leaks as f64, 20.0),
    ];
    deductions.retain(|(_, d)| *d > 0.0);
    deductions.sort_by(|a, b| b.1.total_cmp(&a.1));
    let lost: f64 = deductions.iter().map(|(_, d)| d).sum();
    let mut value = (100.0 - lost).floor().max(10.0) as u32;
    let cap = [
        (p.alerts() > 0, ALERTS_CAP),
        (p.vulns() > 0, VULNS_CAP),
        (p.baseline() > 0, BASELINE_CAP),
    ]
    .into_iter()
    .filter(|(present, _)| *present)
    .map(|(_, c)| c)
    .min();
    let capped_at = cap.filter(|c| *c < value);
    if let Some(c) = capped_at {
        value = c;
    }
    Score {
        score: value,
        band: Band::of(value),
        deductions,
        capped_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_pending_is_full_marks() {
        let s = score(&Pending::default());
        assert_eq!((s.score, s.band, s.capped_at), (100, Band::Secure, None));
        assert!(s.deductions.is_empty());
    }

    #[test]
    fn presence_caps_apply() {
        let one_reminder = score(&Pending {
            alerts_reminder: 1,
            ..Default::default()
        });
        assert_eq!((one_reminder.score, one_reminder.capped_at), (60, Some(60)));
        assert_eq!(one_reminder.band, Band::HighRisk);
        let one_low_vuln = score(&Pending {
            vulns_low: 1,
            ..Default::default()
        });
        assert_eq!(
            (one_low_vuln.score, one_low_vuln.band),
            (80, Band::ManyRisks)
        );
        let one_baseline = score(&Pending {
            baseline_low: 1,
            ..Default::default()
        });
        assert_eq!(
            (one_baseline.score, one_baseline.band),
            (90, Band::FewRisks)
        );
    }

    #[test]
    fn module_caps_and_floor() {
        let many = Pending {
            alerts_urgent: 50,
            vulns_high: 50,
            baseline_high: 50,
            access_key_leaks: 9,
            ..Default::default()
        };
        let s = score(&many);
        assert_eq!(s.score, 10, "100 - 40 - 30 - 20 - 20 is floored at 10");
        assert_eq!(
            s.deductions,
            vec![
                ("alerts", 40.0),
                ("vulnerabilities", 30.0),
                ("baseline", 20.0),
                ("access keys", 20.0)
            ]
        );
        let vulns = score(&Pending {
            vulns_high: 5,
            vulns_medium: 2,
            ..Default::default()
        });
        assert_eq!((vulns.score, vulns.capped_at), (80, Some(80)));
        let heavy = score(&Pending {
            vulns_high: 10,
            ..Default::default()
        });
        assert_eq!(
            (heavy.score, heavy.capped_at),
            (70, None),
            "deductions below the cap win"
        );
    }

    #[test]
    fn bands_have_exact_edges() {
        assert_eq!(Band::of(95), Band::Secure);
        assert_eq!(Band::of(94), Band::FewRisks);
        assert_eq!(Band::of(85), Band::FewRisks);
        assert_eq!(Band::of(84), Band::ManyRisks);
        assert_eq!(Band::of(70), Band::ManyRisks);
        assert_eq!(Band::of(69), Band::HighRisk);
    }
}
