//! The result table, in Markdown.

use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    /// `what`, the measured figure, the reference figure, and how they compare.
    pub fn row(&mut self, what: &str, ours: String, reference: String, comparison: String) {
        println!("{what}: {ours} | {reference} | {comparison}");
        self.rows
            .push([what.to_owned(), ours, reference, comparison]);
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "\n| measurement | opcp-cred | reference | comparison |\n|---|---|---|---|\n",
        );
        for [a, b, c, d] in &self.rows {
            let _ = writeln!(out, "| {a} | {b} | {c} | {d} |");
        }
        out
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn ratio(ours: Duration, reference: Duration) -> String {
    format!("{:.2}×", ours.as_secs_f64() / reference.as_secs_f64())
}
