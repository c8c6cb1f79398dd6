//! `compare`: several run folders side by side: the options in which they differ and their
//! validation scores, as a plain-text table.

use std::path::PathBuf;

use pix2pix_studio::insight::compare::{RunRecord, comparison_table, differing_options};

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
    if differing_options(&runs)?.is_empty() {
        outln!("(the runs' options are all the same)");
    }
    let rows = comparison_table(&runs)?;
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
