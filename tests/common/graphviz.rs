//! Graphviz's `dot`, for the tests that render diagrams.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Whether `dot` is installed. Tests that need it print why they skip when
/// it is not, with [`skipped`].
pub(crate) fn installed() -> bool {
    Command::new("dot")
        .arg("-V")
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Reports a rendering test skipped for want of `dot`.
pub(crate) fn skipped() {
    eprintln!("skipped: Graphviz's `dot` is not installed (Debian package `graphviz`)");
}

/// `dot -Tsvg` on `dot`: the size of the SVG, or what `dot` said.
pub(crate) fn render(dot: &str) -> Result<usize, String> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(dot.as_bytes())
        .map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() && output.stderr.is_empty() {
        Ok(output.stdout.len())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
