//! `train`: every option under the reference's name where it has one, with the run options'
//! defaults; the run goes through the worker, shown by `run_console.rs`.

use std::path::PathBuf;

use pix2pix_studio::config::schedule::PolicyKind;
use pix2pix_studio::config::{DiscriminatorNet, GanMode, GeneratorNet, RunConfig, RunOptions};
use pix2pix_studio::data::augment::reference_load_size;
use pix2pix_studio::data::{Direction, LayoutHint, Preprocess, SynthTask};
use pix2pix_studio::model::blocks::NormKind;
use pix2pix_studio::platform::device::DeviceChoice;

use super::run_console::drive_training;
use super::spawn_worker;

/// Options of `train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The dataset folder (any layout `inspect` recognises).
    #[arg(long = "dataroot", visible_alias = "data")]
    pub dataroot: PathBuf,
    /// The run folder: config.json, checkpoints/, previews/.
    #[arg(long, short = 'o', visible_alias = "output")]
    pub run_dir: PathBuf,
    /// Continue the run in the run folder from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Which side is the input.
    #[arg(long, default_value = "AtoB")]
    pub direction: Direction,
    /// Make pairs from plain photos: colorize, edges-to-photo, photo-to-edges.
    #[arg(long)]
    pub synth: Option<SynthTask>,
    /// Treat every image as input|target side by side, however narrow.
    #[arg(long, conflicts_with = "synth")]
    pub side_by_side: bool,
    /// Input channels, 1 or 3 (default: 3, or the synthesis task's).
    #[arg(long = "input_nc")]
    pub input_nc: Option<usize>,
    /// Output channels, 1 or 3 (default: 3, or the synthesis task's).
    #[arg(long = "output_nc")]
    pub output_nc: Option<usize>,
    /// Generator: a U-Net by the reference's name, or auto (the depth whose bottleneck is 1×1 at
    /// crop_size).
    #[arg(long = "netG", value_enum, default_value_t = GeneratorNet::Auto)]
    pub net_g: GeneratorNet,
    /// U-Net depth, overriding netG (at least 5).
    #[arg(long = "num_downs")]
    pub num_downs: Option<usize>,
    /// Generator filters in the first layer.
    #[arg(long, default_value_t = defaults().ngf)]
    pub ngf: usize,
    /// Discriminator filters in the first layer.
    #[arg(long, default_value_t = defaults().ndf)]
    pub ndf: usize,
    /// Discriminator: basic (70×70 PatchGAN), n_layers (n_layers_D), pixel (1×1); without it,
    /// a PatchGAN with n_layers_D layers.
    #[arg(long = "netD", value_enum)]
    pub net_d: Option<DiscriminatorNet>,
    /// Stride-2 layers of the PatchGAN (1 = 16×16, 3 = 70×70, 5 = 286×286).
    #[arg(long = "n_layers_D", default_value_t = defaults().n_layers_d)]
    pub n_layers_d: usize,
    /// Normalisation in both networks.
    #[arg(long, value_enum, default_value_t = defaults().norm)]
    pub norm: NormKind,
    /// No dropout in the generator.
    #[arg(long = "no_dropout")]
    pub no_dropout: bool,
    /// No U-Net skip connections (the paper's encoder-decoder).
    #[arg(long = "no_skips")]
    pub no_skips: bool,
    /// Adversarial loss; none trains on L1 alone.
    #[arg(long = "gan_mode", value_enum, default_value_t = defaults().gan_mode)]
    pub gan_mode: GanMode,
    /// Weight of the L1 loss (0: GAN only).
    #[arg(long = "lambda_L1", default_value_t = defaults().lambda_l1)]
    pub lambda_l1: f64,
    /// Adam learning rate.
    #[arg(long, default_value_t = defaults().learning_rate)]
    pub lr: f64,
    /// Adam beta1.
    #[arg(long, default_value_t = defaults().beta1)]
    pub beta1: f64,
    /// Learning-rate policy.
    #[arg(long = "lr_policy", value_enum, default_value_t = defaults().lr_policy)]
    pub lr_policy: PolicyKind,
    /// Epochs between decays of the step policy (x 0.1 each).
    #[arg(long = "lr_decay_iters", default_value_t = defaults().lr_decay_epochs)]
    pub lr_decay_iters: usize,
    /// Epochs at the starting learning rate.
    #[arg(long = "n_epochs", default_value_t = defaults().n_epochs)]
    pub n_epochs: usize,
    /// Epochs of linear decay to zero after that.
    #[arg(long = "n_epochs_decay", default_value_t = defaults().n_epochs_decay)]
    pub n_epochs_decay: usize,
    /// Pairs per batch.
    #[arg(long = "batch_size", default_value_t = defaults().batch_size)]
    pub batch_size: usize,
    /// Training size (a multiple of 2^num_downs).
    #[arg(long = "crop_size", default_value_t = defaults().image_size_px)]
    pub crop_size: u32,
    /// Size before cropping (default: crop_size × 286 / 256, rounded up).
    #[arg(long = "load_size")]
    pub load_size: Option<u32>,
    /// Preprocessing.
    #[arg(long, value_enum, default_value_t = defaults().preprocess)]
    pub preprocess: Preprocess,
    /// No random flips.
    #[arg(long = "no_flip")]
    pub no_flip: bool,
    /// Take pairs in order instead of shuffling.
    #[arg(long = "serial_batches")]
    pub serial_batches: bool,
    /// Seed of the weights, shuffles, augmentation and dropout.
    #[arg(long, default_value_t = defaults().seed)]
    pub seed: u64,
    /// Epochs between checkpoints kept for good.
    #[arg(long = "save_epoch_freq", default_value_t = defaults().keep_every_epochs)]
    pub save_epoch_freq: usize,
    /// Steps between preview PNGs.
    #[arg(long, default_value_t = defaults().preview_every_steps)]
    pub preview_every: u64,
    /// Steps between validations.
    #[arg(long, default_value_t = defaults().validate_every_steps)]
    pub validate_every: u64,
    /// Steps between saves of the latest checkpoint.
    #[arg(long, default_value_t = defaults().checkpoint_every_steps)]
    pub checkpoint_every: u64,
    /// Stop after this many steps in all.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Early stopping: end the run once the validation L1 has not improved for N validations
    /// in a row (validations come every --validate-every steps); the best checkpoint is kept.
    #[arg(long, value_name = "N")]
    pub early_stop: Option<usize>,
}

/// The defaults every flag shows and falls back to: the run options' own.
fn defaults() -> RunOptions {
    RunOptions::default()
}

impl TrainArgs {
    /// The run configuration these options describe.
    pub fn run_config(&self) -> anyhow::Result<RunConfig> {
        let synth_channels = self.synth.map(SynthTask::channels);
        let defaults = defaults();
        let options = RunOptions {
            image_size_px: self.crop_size,
            load_size_px: self
                .load_size
                .unwrap_or_else(|| reference_load_size(self.crop_size)),
            num_downs: self
                .num_downs
                .unwrap_or_else(|| self.net_g.num_downs(self.crop_size)),
            ngf: self.ngf,
            ndf: self.ndf,
            n_layers_d: self
                .net_d
                .map_or(self.n_layers_d, |net| net.n_layers(self.n_layers_d)),
            norm: self.norm,
            dropout: !self.no_dropout,
            skips: !self.no_skips,
            input_channels: self
                .input_nc
                .or(synth_channels.map(|c| c.0))
                .unwrap_or(defaults.input_channels),
            output_channels: self
                .output_nc
                .or(synth_channels.map(|c| c.1))
                .unwrap_or(defaults.output_channels),
            gan_mode: self.gan_mode,
            lambda_l1: self.lambda_l1,
            learning_rate: self.lr,
            beta1: self.beta1,
            lr_policy: self.lr_policy,
            lr_decay_epochs: self.lr_decay_iters,
            n_epochs: self.n_epochs,
            n_epochs_decay: self.n_epochs_decay,
            batch_size: self.batch_size,
            preprocess: self.preprocess,
            flip: !self.no_flip,
            shuffle: !self.serial_batches,
            seed: self.seed,
            preview_every_steps: self.preview_every,
            validate_every_steps: self.validate_every,
            checkpoint_every_steps: self.checkpoint_every,
            keep_every_epochs: self.save_epoch_freq,
            preview_samples: defaults.preview_samples,
            max_steps: self.max_steps,
            early_stop: self.early_stop,
        };
        let layout = match (self.synth, self.side_by_side) {
            (Some(task), _) => LayoutHint::Photos(task),
            (None, true) => LayoutHint::SideBySide,
            (None, false) => LayoutHint::Auto,
        };
        let config = options.run_config(&self.dataroot, self.direction, layout);
        config.validate()?;
        Ok(config)
    }
}

/// Runs `train`.
pub fn train_command(device: DeviceChoice, args: &TrainArgs) -> anyhow::Result<()> {
    let config = args.run_config()?;
    let worker = spawn_worker()?;
    let outcome = drive_training(&worker, config, &args.run_dir, args.resume, device)?;
    outln!(
        "{} after {} steps; checkpoints in {}",
        if outcome.stopped {
            "stopped"
        } else {
            "finished"
        },
        outcome.steps,
        args.run_dir.join("checkpoints").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::{Cli, Command};

    fn train_args(flags: &[&str]) -> TrainArgs {
        let mut argv = vec!["pix2pix-studio", "train", "--dataroot", "data", "-o", "run"];
        argv.extend_from_slice(flags);
        match Cli::try_parse_from(argv).expect("valid flags").command {
            Some(Command::Train(args)) => *args,
            other => panic!("not a train command: {other:?}"),
        }
    }

    #[test]
    fn train_without_flags_runs_with_the_run_options_defaults() {
        let expected =
            RunOptions::default().run_config(Path::new("data"), Direction::AtoB, LayoutHint::Auto);
        assert_eq!(train_args(&[]).run_config().unwrap(), expected);
    }

    #[test]
    fn the_help_shows_the_run_options_defaults() {
        let defaults = RunOptions::default();
        let help = Cli::command()
            .find_subcommand_mut("train")
            .expect("a train subcommand")
            .render_long_help()
            .to_string();
        for shown in [
            format!("[default: {}]", defaults.ngf),
            format!("[default: {}]", defaults.lambda_l1),
            format!("[default: {}]", defaults.learning_rate),
            format!("[default: {}]", defaults.preview_every_steps),
            "[default: batch]".to_string(),
            "[default: resize_and_crop]".to_string(),
            "[default: linear]".to_string(),
        ] {
            assert!(help.contains(&shown), "`{shown}` missing from:\n{help}");
        }
    }

    #[test]
    fn reference_names_parse_to_the_domain_types() {
        let config = train_args(&[
            "--netG",
            "unet_128",
            "--crop_size",
            "128",
            "--netD",
            "pixel",
            "--norm",
            "instance",
            "--gan_mode",
            "none",
            "--lr_policy",
            "cosine",
            "--preprocess",
            "scale_width_and_crop",
            "--early-stop",
            "3",
        ])
        .run_config()
        .unwrap();
        assert_eq!(config.training.generator.num_downs, 7);
        assert_eq!(config.training.discriminator.n_layers, 0);
        assert_eq!(config.training.generator.norm, NormKind::Instance);
        assert_eq!(config.training.gan_mode, GanMode::Off);
        assert_eq!(
            config.schedule.policy,
            pix2pix_studio::config::schedule::LrPolicy::Cosine
        );
        assert_eq!(config.data.preprocess, Preprocess::ScaleWidthAndCrop);
        assert_eq!(config.data.load_size_px, reference_load_size(128));
        assert_eq!(config.intervals.early_stop_patience, Some(3));
    }

    #[test]
    fn an_unknown_name_is_a_usage_error_not_a_silent_default() {
        let argv = ["pix2pix-studio", "train", "--dataroot", "d", "-o", "r"];
        for (flag, value) in [("--norm", "group"), ("--netG", "resnet_9blocks")] {
            let mut with = argv.to_vec();
            with.extend_from_slice(&[flag, value]);
            let err = Cli::try_parse_from(with).expect_err(value);
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::InvalidValue,
                "{flag} {value}"
            );
        }
    }
}
