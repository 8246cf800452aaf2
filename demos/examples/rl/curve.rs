//! The learning curve of an agent: every episode's return and the mean of
//! the last [`WINDOW`] (or [`Curve::window`]), a progress line every few
//! episodes (with the steps per second since the one before), a PNG chart
//! of both, and the last line, `solved: …` or `not solved: …`, with an exit
//! code a check can read.

use std::error::Error;
use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// Episodes in the running mean that decides whether a task is solved,
/// unless [`Curve::window`] sets another number.
pub(crate) const WINDOW: usize = 100;

/// Episode returns of one run, from its start.
pub(crate) struct Curve {
    name: String,
    directory: PathBuf,
    returns: Vec<f64>,
    steps: usize,
    started: Instant,
    /// When the last progress line was printed, and the steps by then: the
    /// line shows the rate since, which warm-up steps without learning
    /// would otherwise inflate for the whole run.
    reported: (Instant, usize),
    report_every: usize,
    /// Episodes in the running mean.
    window: usize,
    /// The return a task counts as solved at, drawn as a line.
    goal: Option<f64>,
}

impl Curve {
    /// A curve for the example `name`, written to the directory given as
    /// the program's first argument, `target/<name>` by default.
    pub(crate) fn new(name: &str) -> Self {
        let directory = std::env::args_os()
            .nth(1)
            .map_or_else(|| PathBuf::from("target").join(name), PathBuf::from);
        Self {
            name: name.to_owned(),
            directory,
            returns: Vec::new(),
            steps: 0,
            started: Instant::now(),
            reported: (Instant::now(), 0),
            report_every: 20,
            window: WINDOW,
            goal: None,
        }
    }

    /// Draws the return at which the task counts as solved.
    pub(crate) fn goal(self, goal: f64) -> Self {
        Self {
            goal: Some(goal),
            ..self
        }
    }

    /// Counts a task as solved by the mean of the last `episodes` episodes
    /// ([`WINDOW`] by default).
    pub(crate) fn window(self, episodes: usize) -> Self {
        Self {
            window: episodes.max(1),
            ..self
        }
    }

    /// Prints progress every `episodes` episodes (20 by default).
    pub(crate) fn report_every(self, episodes: usize) -> Self {
        Self {
            report_every: episodes.max(1),
            ..self
        }
    }

    /// Records an episode of `steps` environment steps; every few episodes
    /// prints a progress line that ends with `detail` (the exploration
    /// rate, a loss, …). Returns the mean of the last `window` returns.
    pub(crate) fn record(
        &mut self,
        episode_return: f64,
        steps: usize,
        detail: impl Display,
    ) -> f64 {
        self.returns.push(episode_return);
        self.steps += steps;
        let mean = self.recent_mean();
        if self.returns.len().is_multiple_of(self.report_every) {
            let (since, steps_then) = self.reported;
            let recent_rate = (self.steps - steps_then) as f64 / since.elapsed().as_secs_f64();
            println!(
                "episode {:>4}  steps {:>6}  {recent_rate:>6.0} steps/s  return {episode_return:>6.1}  mean of last {} {mean:>6.1}  {detail}",
                self.returns.len(),
                self.steps,
                self.returns.len().min(self.window),
            );
            self.reported = (Instant::now(), self.steps);
        }
        mean
    }

    /// The mean return of the last `window` episodes (or of all, if fewer).
    pub(crate) fn recent_mean(&self) -> f64 {
        let recent = &self.returns[self.returns.len().saturating_sub(self.window)..];
        if recent.is_empty() {
            0.0
        } else {
            recent.iter().sum::<f64>() / recent.len() as f64
        }
    }

    /// The largest mean return of `window` consecutive episodes so far
    /// (of all of them, if fewer).
    pub(crate) fn best_mean(&self) -> f64 {
        let window = self.window.min(self.returns.len());
        if window == 0 {
            return 0.0;
        }
        self.returns
            .windows(window)
            .map(|w| w.iter().sum::<f64>() / window as f64)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Episodes recorded.
    pub(crate) fn episodes(&self) -> usize {
        self.returns.len()
    }

    /// At least `window` episodes recorded, and the last `window` of
    /// them have a mean return of `goal` or more.
    pub(crate) fn reached(&self, goal: f64) -> bool {
        self.returns.len() >= self.window && self.recent_mean() >= goal
    }

    /// Environment steps per second of wall time since the start.
    pub(crate) fn steps_per_second(&self) -> f64 {
        self.steps as f64 / self.started.elapsed().as_secs_f64()
    }

    /// Writes the PNG, then prints the last line: `solved: …` if `solved`,
    /// else `not solved: …`, with the episodes, steps and wall time; the
    /// exit code fails when not solved.
    ///
    /// # Errors
    ///
    /// If the directory or the chart cannot be written.
    pub(crate) fn finish(self, solved: bool) -> Result<ExitCode, Box<dyn Error>> {
        let seconds = self.started.elapsed().as_secs_f64();
        let steps_per_second = self.steps_per_second();
        std::fs::create_dir_all(&self.directory)?;
        let path = self.directory.join(format!("{}-returns.png", self.name));
        self.plot(&path)?;
        println!(
            "wrote {} ({} bytes)",
            path.display(),
            std::fs::metadata(&path)?.len()
        );
        let summary = format!(
            "mean return {:.1} over the last {} of {} episodes ({} steps, {steps_per_second:.0} steps/s) in {seconds:.1} s",
            self.recent_mean(),
            self.returns.len().min(self.window),
            self.returns.len(),
            self.steps,
        );
        if solved {
            println!("solved: {summary}");
            Ok(ExitCode::SUCCESS)
        } else {
            println!(
                "not solved: {summary}; the best mean of {} consecutive episodes was {:.1}",
                self.returns.len().min(self.window),
                self.best_mean()
            );
            Ok(ExitCode::FAILURE)
        }
    }

    /// Every episode's return and their running mean, as a PNG chart.
    fn plot(&self, path: &std::path::Path) -> Result<(), Box<dyn Error>> {
        // The text is drawn with a font compiled into the program, so the
        // plot needs no font installed on the system.
        register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        )
        .map_err(|_| "the bundled font is not a valid TrueType font")?;
        let episodes = self.returns.len().max(2);
        let (low, high) = self
            .returns
            .iter()
            .chain(&self.goal)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &r| {
                (low.min(r), high.max(r))
            });
        let (low, high) = if low < high {
            (low, high)
        } else {
            (low - 1.0, low + 1.0)
        };
        let margin = 0.05 * (high - low);
        let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: return per episode", self.name),
                ("sans-serif", 22),
            )
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1..episodes, low - margin..high + margin)?;
        chart
            .configure_mesh()
            .x_desc("episode")
            .y_desc("return")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .light_line_style(BLACK.mix(0.03))
            .label_style(("sans-serif", 16))
            .draw()?;
        let returns = (1..).zip(self.returns.iter().copied());
        let light = BLUE.mix(0.35);
        chart
            .draw_series(LineSeries::new(returns, light.stroke_width(1)))?
            .label("episode return")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], light.stroke_width(1)));
        let means = (1..=self.returns.len()).map(|end| {
            let window = &self.returns[end.saturating_sub(self.window)..end];
            (end, window.iter().sum::<f64>() / window.len() as f64)
        });
        chart
            .draw_series(LineSeries::new(means, RED.stroke_width(3)))?
            .label(format!("mean of the last {}", self.window))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(3)));
        if let Some(goal) = self.goal {
            let line = BLACK.mix(0.6);
            chart
                .draw_series(DashedLineSeries::new(
                    [(1, goal), (episodes, goal)],
                    8,
                    6,
                    line.stroke_width(1),
                ))?
                .label(format!("solved at {goal}"))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], line.stroke_width(1))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
        root.present()?;
        Ok(())
    }
}
