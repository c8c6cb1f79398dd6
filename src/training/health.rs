//! Training health, read from the loss history: the failure patterns pix2pix users ask about
//! most ("D wins", "D collapsed", "L1 stopped improving", "it diverged"), each detected over
//! trailing windows of steps and explained in plain words with what to try.
//!
//! The thresholds are this project's, set from runs on the sample data (the Quick preset at
//! its learning rate and at 100 and 1000 times it): windows of [`WINDOW_STEPS`] steps average
//! out batch-1 noise, each pattern must hold for a whole window, so one odd batch never raises
//! a warning, and progress is judged on the validation L1 where there is one, since a
//! window's training G_L1 still wanders by several percent when nothing is wrong.

use serde::{Deserialize, Serialize};

use super::history::{History, LossRecord};
use super::step::StepLosses;
use crate::config::GanMode;

/// Steps in one window of the detectors.
pub const WINDOW_STEPS: usize = 100;
/// D wins: its mean probability on generated pairs stays below this for a window...
const D_WINS_P_FAKE: f32 = 0.05;
/// ...while G_GAN does not fall: the last window's mean is above this fraction of the one
/// before (a margin, so the warning does not come and go with noise).
const D_WINS_G_GAN_RATIO: f64 = 0.9;
/// D collapse: both probabilities' window means within this of 0.5...
const COLLAPSE_BAND: f32 = 0.1;
/// ...and moving less than this from one window to the next, while L1 is on a plateau.
const COLLAPSE_DRIFT: f32 = 0.05;
/// L1 plateau: the validation L1 has not improved for this many validations...
const PLATEAU_VALIDATIONS: usize = 4;
/// ...or, with no validation pairs, the mean G_L1 of the last [`PLATEAU_WINDOWS`] windows is
/// above this fraction of the windows before.
const PLATEAU_RATIO: f64 = 0.98;
/// Windows compared for a plateau of the training G_L1.
const PLATEAU_WINDOWS: usize = 5;
/// Divergence: the last window's mean G_L1 is above this multiple of the run's best window.
const DIVERGENCE_RATIO: f64 = 1.5;

/// A pattern the detectors know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Symptom {
    /// The discriminator tells every generated pair from a real one, so the generator's GAN
    /// gradient fades while G_GAN climbs.
    DiscriminatorWins,
    /// The discriminator gives both real and generated pairs about 0.5 and has stopped moving,
    /// while L1 stalls: the GAN term no longer teaches anything.
    DiscriminatorCollapse,
    /// G_L1 has stopped falling.
    L1Plateau,
    /// The losses are getting worse, or stopped being numbers.
    Divergence,
}

impl Symptom {
    /// A short name.
    pub fn title(self) -> &'static str {
        match self {
            Symptom::DiscriminatorWins => "the discriminator is winning",
            Symptom::DiscriminatorCollapse => "the discriminator has collapsed",
            Symptom::L1Plateau => "L1 has stopped improving",
            Symptom::Divergence => "training is diverging",
        }
    }

    /// What it means, in plain words.
    pub fn meaning(self) -> &'static str {
        match self {
            Symptom::DiscriminatorWins => {
                "D calls almost every generated pair fake, so the generator learns little from \
                 it and its GAN loss keeps rising; results often turn noisy or stop improving."
            }
            Symptom::DiscriminatorCollapse => {
                "D gives real and generated pairs the same ~0.5 and no longer changes: it cannot \
                 tell them apart, so only L1 teaches the generator and results stay blurry."
            }
            Symptom::L1Plateau => {
                "The distance to the targets has not fallen for a while: the model has learned \
                 what it can at this learning rate, or is stuck."
            }
            Symptom::Divergence => {
                "The generator is getting further from the targets (or the losses are no longer \
                 numbers): the steps are too large for the networks."
            }
        }
    }

    /// What to try.
    pub fn what_to_try(self) -> &'static str {
        match self {
            Symptom::DiscriminatorWins => {
                "Lower the learning rate, use a smaller patch (fewer discriminator layers) or a \
                 narrower discriminator (ndf), or raise lambda L1."
            }
            Symptom::DiscriminatorCollapse => {
                "Lower the learning rate (the paper's is 0.0002); check that inputs and targets \
                 are aligned; a larger patch gives D more to judge."
            }
            Symptom::L1Plateau => {
                "Look at the previews and the validation scores: if they still improve, carry \
                 on; if not, let the learning rate decay, add data, or stop at the best \
                 checkpoint."
            }
            Symptom::Divergence => {
                "Stop, and resume from an earlier checkpoint with a lower learning rate (the \
                 paper's is 0.0002)."
            }
        }
    }
}

/// A symptom seen in a run, with the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthWarning {
    /// What was seen.
    pub symptom: Symptom,
    /// Steps done when it was seen.
    pub step: u64,
    /// The numbers, in words ("D(x, G(x)) averaged 0.02 over the last 100 steps...").
    pub evidence: String,
}

impl std::fmt::Display for HealthWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let symptom = self.symptom;
        write!(
            f,
            "step {}: {}. {} {} Try: {}",
            self.step,
            symptom.title(),
            self.evidence,
            symptom.meaning(),
            symptom.what_to_try()
        )
    }
}

/// Means of one window of steps.
#[derive(Clone, Copy, Debug)]
struct WindowMeans {
    g_gan: f64,
    g_l1: f64,
    p_real: f32,
    p_fake: f32,
}

impl WindowMeans {
    fn of(records: &[LossRecord]) -> Self {
        let count = records.len().max(1) as f64;
        let mean = |value: fn(&StepLosses) -> f32| {
            records
                .iter()
                .map(|r| f64::from(value(&r.losses)))
                .sum::<f64>()
                / count
        };
        Self {
            g_gan: mean(|l| l.g_gan),
            g_l1: mean(|l| l.g_l1),
            p_real: mean(|l| l.p_real) as f32,
            p_fake: mean(|l| l.p_fake) as f32,
        }
    }
}

/// What the history of a run with `gan_mode` shows now; empty when it looks healthy or is too
/// short to judge.
pub fn diagnose(history: &History, gan_mode: GanMode) -> Vec<HealthWarning> {
    let losses = &history.losses;
    let Some(last_record) = losses.last() else {
        return Vec::new();
    };
    let step = last_record.step;
    let warn = |symptom, evidence: String| HealthWarning {
        symptom,
        step,
        evidence,
    };
    let window = &losses[losses.len().saturating_sub(WINDOW_STEPS)..];
    if let Some(bad) = window.iter().find(|r| !r.losses.is_finite()) {
        let evidence = format!("the losses of step {} are not numbers.", bad.step);
        return vec![warn(Symptom::Divergence, evidence)];
    }
    if losses.len() < 2 * WINDOW_STEPS {
        return Vec::new();
    }
    let last = WindowMeans::of(window);
    let before = WindowMeans::of(&losses[losses.len() - 2 * WINDOW_STEPS..][..WINDOW_STEPS]);
    let mut warnings = Vec::new();
    let (best_l1, best_step) = best_window_l1(losses);
    if last.g_l1 > DIVERGENCE_RATIO * best_l1 {
        let evidence = format!(
            "G_L1 averaged {:.1} over the last {WINDOW_STEPS} steps, {:.1}× its best \
             {WINDOW_STEPS}-step average ({best_l1:.1}, up to step {best_step}).",
            last.g_l1,
            last.g_l1 / best_l1
        );
        warnings.push(warn(Symptom::Divergence, evidence));
    }
    let plateau = plateau_evidence(history);
    if let (Some(evidence), true) = (&plateau, warnings.is_empty()) {
        warnings.push(warn(Symptom::L1Plateau, evidence.clone()));
    }
    if gan_mode == GanMode::Off {
        return warnings;
    }
    let d_wins = window.iter().all(|r| r.losses.p_fake < 0.5) && last.p_fake < D_WINS_P_FAKE;
    if d_wins && last.g_gan >= D_WINS_G_GAN_RATIO * before.g_gan {
        let evidence = format!(
            "D(x, G(x)) averaged {:.3} over the last {WINDOW_STEPS} steps (D(x, y) {:.2}) while \
             G_GAN went from {:.2} to {:.2}.",
            last.p_fake, last.p_real, before.g_gan, last.g_gan
        );
        warnings.push(warn(Symptom::DiscriminatorWins, evidence));
    }
    let near_half = |p: f32| (p - 0.5).abs() < COLLAPSE_BAND;
    let steady = |now: f32, then: f32| (now - then).abs() < COLLAPSE_DRIFT;
    let collapsed = near_half(last.p_real)
        && near_half(last.p_fake)
        && steady(last.p_real, before.p_real)
        && steady(last.p_fake, before.p_fake);
    if collapsed && plateau.is_some() {
        let evidence = format!(
            "D(x, y) averaged {:.2} and D(x, G(x)) {:.2} over the last {WINDOW_STEPS} steps \
             ({:.2} and {:.2} over the {WINDOW_STEPS} before), while L1 stopped improving.",
            last.p_real, last.p_fake, before.p_real, before.p_fake
        );
        warnings.push(warn(Symptom::DiscriminatorCollapse, evidence));
    }
    warnings
}

/// Why L1 is on a plateau, if it is: the validation L1 has not improved for
/// [`PLATEAU_VALIDATIONS`] validations; or, for a run without validation pairs, the training
/// G_L1 of the last [`PLATEAU_WINDOWS`] windows is no better than the windows before.
fn plateau_evidence(history: &History) -> Option<String> {
    if let (Some(since_best), Some(best)) =
        (history.validations_since_best(), history.best_validation())
    {
        return (since_best >= PLATEAU_VALIDATIONS).then(|| {
            format!(
                "The validation L1 has not improved for {since_best} validations (best {:.4} at \
                 step {}).",
                best.metrics.l1, best.step
            )
        });
    }
    let span = PLATEAU_WINDOWS * WINDOW_STEPS;
    let losses = &history.losses;
    if losses.len() < 2 * span {
        return None;
    }
    let recent = WindowMeans::of(&losses[losses.len() - span..]).g_l1;
    let earlier = WindowMeans::of(&losses[losses.len() - 2 * span..][..span]).g_l1;
    (recent > PLATEAU_RATIO * earlier).then(|| {
        format!(
            "G_L1 averaged {recent:.2} over the last {span} steps against {earlier:.2} over the \
             {span} before."
        )
    })
}

/// The lowest mean G_L1 of any window of [`WINDOW_STEPS`] consecutive steps, and the step
/// that window ends at.
fn best_window_l1(losses: &[LossRecord]) -> (f64, u64) {
    let mut sum: f64 = losses[..WINDOW_STEPS]
        .iter()
        .map(|r| f64::from(r.losses.g_l1))
        .sum();
    let mut best = (sum, losses[WINDOW_STEPS - 1].step);
    for end in WINDOW_STEPS..losses.len() {
        sum +=
            f64::from(losses[end].losses.g_l1) - f64::from(losses[end - WINDOW_STEPS].losses.g_l1);
        if sum < best.0 {
            best = (sum, losses[end].step);
        }
    }
    (best.0 / WINDOW_STEPS as f64, best.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::history::ValidationRecord;
    use crate::training::metrics::Metrics;

    /// A synthetic history: `losses(step)` for steps 1..=n, and a validation every 100 steps
    /// (from step 0) scoring `val_l1(step)`.
    fn history(n: u64, losses: impl Fn(u64) -> StepLosses, val_l1: impl Fn(u64) -> f64) -> History {
        let validation = |step| ValidationRecord {
            step,
            epoch: step as f64 / 100.0,
            metrics: Metrics {
                l1: val_l1(step),
                psnr_db: 20.0,
                ssim: 0.8,
            },
        };
        History {
            losses: (1..=n)
                .map(|step| LossRecord {
                    step,
                    epoch: step as f64 / 100.0,
                    losses: losses(step),
                    learning_rate: 2e-4,
                })
                .collect(),
            validations: (0..=n).step_by(100).map(validation).collect(),
        }
    }

    /// A bounded wobble in [-1, 1], different at every step (a stand-in for batch noise).
    fn wobble(step: u64) -> f32 {
        ((step as f32) * 2.399).sin()
    }

    /// A healthy run: L1 falling, D around 0.8 / 0.2 and moving (as the Quick preset trains).
    fn healthy(step: u64) -> StepLosses {
        StepLosses {
            g_gan: 2.2 + 0.8 * wobble(step),
            g_l1: 40.0 * (-(step as f32) / 300.0).exp() + 10.0 + 4.0 * wobble(step + 7),
            d_real: 0.4 + 0.2 * wobble(step + 3),
            d_fake: 0.4 + 0.2 * wobble(step + 5),
            p_real: 0.78 + 0.2 * wobble(step + 11),
            p_fake: 0.21 + 0.18 * wobble(step + 13),
        }
    }

    /// A validation L1 that keeps improving.
    fn improving(step: u64) -> f64 {
        0.4 / (1.0 + step as f64 / 100.0)
    }

    /// A validation L1 that stopped improving after step 100.
    fn stalled(step: u64) -> f64 {
        if step <= 100 {
            0.4 - step as f64 / 1000.0
        } else {
            0.31
        }
    }

    fn symptoms(history: &History, mode: GanMode) -> Vec<Symptom> {
        diagnose(history, mode).iter().map(|w| w.symptom).collect()
    }

    #[test]
    fn a_healthy_run_raises_nothing() {
        assert_eq!(
            symptoms(&history(800, healthy, improving), GanMode::Vanilla),
            []
        );
        assert_eq!(
            symptoms(&history(150, healthy, stalled), GanMode::Vanilla),
            []
        );
    }

    #[test]
    fn d_wins_when_it_rejects_every_generated_pair_while_g_gan_stays_high() {
        let history = history(
            600,
            |step| StepLosses {
                g_gan: 11.0 + wobble(step),
                p_real: 0.999,
                p_fake: 0.001 * (1.0 + wobble(step)),
                ..healthy(step)
            },
            improving,
        );
        let warnings = diagnose(&history, GanMode::Vanilla);
        assert_eq!(
            warnings.iter().map(|w| w.symptom).collect::<Vec<_>>(),
            [Symptom::DiscriminatorWins]
        );
        assert!(
            warnings[0].evidence.contains("D(x, G(x)) averaged 0.001"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[0]
                .to_string()
                .contains("Try: Lower the learning rate")
        );
        // Without a GAN term there is no discriminator to win.
        assert_eq!(symptoms(&history, GanMode::Off), []);
    }

    #[test]
    fn d_collapse_when_both_verdicts_sit_at_one_half_and_l1_stalls() {
        let at_half = |step| StepLosses {
            p_real: 0.53 + 0.12 * wobble(step),
            p_fake: 0.46 + 0.11 * wobble(step + 1),
            ..healthy(step)
        };
        let found = symptoms(&history(600, at_half, stalled), GanMode::Vanilla);
        assert_eq!(found, [Symptom::L1Plateau, Symptom::DiscriminatorCollapse]);
        // The same verdicts while the validation L1 still improves are a close contest.
        assert_eq!(
            symptoms(&history(600, at_half, improving), GanMode::Vanilla),
            []
        );
    }

    #[test]
    fn an_l1_plateau_is_seen_when_the_validation_l1_stops_improving() {
        let warnings = diagnose(&history(600, healthy, stalled), GanMode::Vanilla);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].symptom, Symptom::L1Plateau);
        assert!(
            warnings[0]
                .evidence
                .contains("not improved for 5 validations (best 0.3000 at step 100)"),
            "{}",
            warnings[0]
        );
        // Three validations without a new best are not a plateau yet.
        assert_eq!(
            symptoms(&history(400, healthy, stalled), GanMode::Vanilla),
            []
        );
    }

    #[test]
    fn without_validation_pairs_the_plateau_is_read_from_the_training_l1() {
        let flat = |step| StepLosses {
            g_l1: 20.0 + 4.0 * wobble(step),
            ..healthy(step)
        };
        let mut history = history(1000, flat, improving);
        history.validations.clear();
        assert_eq!(symptoms(&history, GanMode::Vanilla), [Symptom::L1Plateau]);
        let mut falling = self::history(1000, healthy, improving);
        falling.validations.clear();
        assert_eq!(symptoms(&falling, GanMode::Vanilla), []);
    }

    #[test]
    fn divergence_when_l1_climbs_far_above_its_best_or_a_loss_is_not_a_number() {
        let climbing = |step| StepLosses {
            g_l1: if step < 300 {
                20.0
            } else {
                20.0 + (step - 300) as f32 / 5.0
            } + wobble(step),
            ..healthy(step)
        };
        let warnings = diagnose(&history(600, climbing, improving), GanMode::Vanilla);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].symptom, Symptom::Divergence);
        assert!(warnings[0].evidence.contains("its best"), "{}", warnings[0]);
        let nan = |step| StepLosses {
            g_gan: if step == 40 { f32::NAN } else { 1.0 },
            ..healthy(step)
        };
        assert_eq!(
            symptoms(&history(50, nan, improving), GanMode::Vanilla),
            [Symptom::Divergence]
        );
    }
}
