//! The soak's summary table, one row per phase.

use std::time::Duration;

use super::super::truth::KindTally;
use super::Outcome;

/// One row of the summary.
pub(super) struct Row {
    pub(super) phase: &'static str,
    pub(super) outcome: Outcome,
    pub(super) wall: Duration,
}

pub(super) fn print_summary(rows: &[Row], seed: u64) {
    let sum = |f: &dyn Fn(&KindTally) -> usize, row: &Row| -> usize {
        row.outcome.tallies.iter().map(f).sum()
    };
    eprintln!("\nsoak summary (seed {seed})");
    eprintln!(
        "{:<13} {:>5} {:>8} {:>11} {:>9} {:>8} {:>5} {:>5} {:>5} {:>5} {:>13} {:>8}",
        "phase",
        "kills",
        "mid-sync",
        "(committed)",
        "after-end",
        "records",
        "lost",
        "dup",
        "extra",
        "stale",
        "rotations",
        "wall"
    );
    let mut totals = [0usize; 9];
    let mut rotations = None;
    let mut wall = Duration::ZERO;
    for row in rows {
        let kills = &row.outcome.kills;
        let figures = [
            kills.rounds,
            kills.mid_sync,
            kills.progressed,
            kills.after_end,
            sum(&|t| t.synced, row),
            sum(&|t| t.lost.len(), row),
            sum(&|t| t.duplicated.len(), row),
            sum(&|t| t.unexpected.len(), row),
            sum(&|t| t.stale.len(), row),
        ];
        for (total, figure) in totals.iter_mut().zip(figures) {
            *total += figure;
        }
        let turns = match row.outcome.rotations {
            Some((during, all)) => {
                let (d, a) = rotations.unwrap_or((0, 0));
                rotations = Some((d + during, a + all));
                format!("{during} ({all})")
            }
            None => "-".into(),
        };
        wall += row.wall;
        print_row(row.phase, &figures, &turns, row.wall);
    }
    let turns = rotations.map_or("-".into(), |(during, all)| format!("{during} ({all})"));
    print_row("total", &totals, &turns, wall);
    eprintln!(
        "mid-sync: killed while running ((committed): after committing more pages); \
         rotations: refreshes during the kills (in all)"
    );
}

fn print_row(phase: &str, f: &[usize; 9], rotations: &str, wall: Duration) {
    eprintln!(
        "{phase:<13} {:>5} {:>8} {:>11} {:>9} {:>8} {:>5} {:>5} {:>5} {:>5} {rotations:>13} {:>7.1}s",
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
        wall.as_secs_f64()
    );
}
