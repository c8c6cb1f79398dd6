//! `inspect`: a dataset's validation report, or a run's (or checkpoint's) configuration and
//! history.

use std::path::{Path, PathBuf};

use pix2pix_studio::config::run_folder;
use pix2pix_studio::data::{Direction, DiscoverOptions, LayoutHint, SynthTask, discover};
use pix2pix_studio::training::checkpoint::Counters;
use pix2pix_studio::training::history::History;

/// Options of `inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// A dataset folder, a run folder or a checkpoint folder.
    pub path: PathBuf,
    /// Which side is the input: AtoB or BtoA.
    #[arg(long, default_value = "AtoB")]
    pub direction: Direction,
    /// Treat the images as plain photos and make pairs: colorize, edges-to-photo, photo-to-edges.
    #[arg(long)]
    pub synth: Option<SynthTask>,
    /// Treat every image as input|target side by side, however narrow.
    #[arg(long, conflicts_with = "synth")]
    pub side_by_side: bool,
    /// Skip pairs with a side shorter than this many pixels.
    #[arg(long, default_value_t = 0)]
    pub min_side: u32,
}

/// Runs `inspect`.
pub fn inspect_command(args: &InspectArgs) -> anyhow::Result<()> {
    if args.path.join("config.json").is_file() {
        return inspect_run(&args.path);
    }
    let hint = match (args.synth, args.side_by_side) {
        (Some(task), _) => LayoutHint::Photos(task),
        (None, true) => LayoutHint::SideBySide,
        (None, false) => LayoutHint::Auto,
    };
    let options = DiscoverOptions {
        hint,
        direction: args.direction,
        min_side_px: args.min_side,
    };
    let dataset = discover(&args.path, &options)?;
    outln!("{}", args.path.display());
    outln!("{}", dataset.report.to_string().trim_end());
    Ok(())
}

fn inspect_run(dir: &Path) -> anyhow::Result<()> {
    let config = run_folder::read_config(dir)?;
    outln!("{}", dir.display());
    outln!("{}", serde_json::to_string_pretty(&config)?);
    let checkpoint = if dir.join("state.json").is_file() {
        Some(dir.to_path_buf())
    } else {
        run_folder::latest(dir)?
    };
    let Some(checkpoint) = checkpoint else {
        outln!("no checkpoint yet");
        return Ok(());
    };
    let counters: Counters =
        serde_json::from_slice(&std::fs::read(checkpoint.join("state.json"))?)?;
    let history: History =
        serde_json::from_slice(&std::fs::read(checkpoint.join("history.json"))?)?;
    outln!(
        "checkpoint {}: step {}, epoch {} (batch {}), learning rate {:.3e}",
        checkpoint.display(),
        counters.steps,
        counters.epoch + 1,
        counters.batch_in_epoch,
        counters.learning_rate
    );
    if let Some(last) = history.losses.last() {
        let l = last.losses;
        outln!(
            "last losses: G_GAN {:.4} G_L1 {:.4} D_real {:.4} D_fake {:.4}",
            l.g_gan,
            l.g_l1,
            l.d_real,
            l.d_fake
        );
    }
    for validation in &history.validations {
        let m = validation.metrics;
        outln!(
            "validation at step {}: L1 {:.4}, PSNR {:.2} dB, SSIM {:.4}",
            validation.step,
            m.l1,
            m.psnr_db,
            m.ssim
        );
    }
    if let Some(best) = run_folder::best(dir)? {
        outln!("best checkpoint: {}", best.display());
    }
    Ok(())
}
