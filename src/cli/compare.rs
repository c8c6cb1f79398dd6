//! `compare`: several run folders side by side: the options in which they differ and their
//! validation scores, as a plain-text table.

use std::path::PathBuf;

use pix2pix_studio::compare::{RunRecord, differing_options};

/// Options of `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Run folders (two or more).
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
}

/// Runs `compare`.
pub fn compare_command(args: &CompareArgs) -> anyhow::Result<()> {
    let runs = args
        .runs
        .iter()
        .map(|dir| RunRecord::read(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let names = runs.iter().map(|run| {
        run.dir.file_name().map_or_else(
            || run.dir.display().to_string(),
            |name| name.to_string_lossy().into(),
        )
    });
    rows.push(std::iter::once("run".to_string()).chain(names).collect());
    let differing = differing_options(&runs)?;
    if differing.is_empty() {
        outln!("(the runs' options are all the same)");
    }
    for (option, values) in differing {
        rows.push(std::iter::once(option).chain(values).collect());
    }
    let score = |label: &str, value: &dyn Fn(&RunRecord) -> String| -> Vec<String> {
        std::iter::once(label.to_string())
            .chain(runs.iter().map(value))
            .collect()
    };
    let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    rows.push(score("steps", &|run| run.steps().to_string()));
    rows.push(score("best val L1 (step)", &|run| {
        or_dash(
            run.best_validation()
                .map(|(metrics, step)| format!("{:.4} ({step})", metrics.l1)),
        )
    }));
    rows.push(score("last val L1", &|run| {
        or_dash(run.last_validation().map(|m| format!("{:.4}", m.l1)))
    }));
    rows.push(score("last val PSNR dB", &|run| {
        or_dash(run.last_validation().map(|m| format!("{:.2}", m.psnr_db)))
    }));
    rows.push(score("last val SSIM", &|run| {
        or_dash(run.last_validation().map(|m| format!("{:.4}", m.ssim)))
    }));
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        outln!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}
