//! Installs and removes the agent's systemd unit where systemd runs the host.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

pub const UNIT_NAME: &str = "vigil-agent.service";
const UNIT_DIR: &str = "/etc/systemd/system";

/// True when systemd is the running init (its runtime directory exists).
pub fn systemd_present() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

pub fn unit_text(binary: &Path, data_dir: &Path) -> String {
    format!(
        "[Unit]
Description=Vigil host security agent
After=network-online.target
Wants=network-online.target

[Service]
ExecStart={bin} agent run --data {data}
Restart=always
RestartSec=5
Nice=10
IOSchedulingClass=idle
MemoryMax=200M

[Install]
WantedBy=multi-user.target
",
        bin = binary.display(),
        data = data_dir.display()
    )
}

fn systemctl(args: &[&str]) -> Result<()> {
    let status = Command::new("systemctl")
        .args(args)
        .status()
        .context("running systemctl")?;
    if !status.success() {
        anyhow::bail!("systemctl {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Writes the unit and starts it.
pub fn install(binary: &Path, data_dir: &Path) -> Result<()> {
    let path = Path::new(UNIT_DIR).join(UNIT_NAME);
    std::fs::write(&path, unit_text(binary, data_dir))
        .with_context(|| format!("writing {}", path.display()))?;
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", "--now", UNIT_NAME])
}

/// Stops and removes the unit if it exists.
pub fn remove() -> Result<()> {
    let path = Path::new(UNIT_DIR).join(UNIT_NAME);
    if !path.exists() {
        return Ok(());
    }
    let _ = systemctl(&["disable", "--now", UNIT_NAME]);
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    systemctl(&["daemon-reload"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_runs_the_agent_with_its_data_dir() {
        let t = unit_text(
            Path::new("/usr/local/bin/vigil"),
            Path::new("/var/lib/vigil-agent"),
        );
        assert!(
            t.contains("ExecStart=/usr/local/bin/vigil agent run --data /var/lib/vigil-agent\n")
        );
        assert!(t.contains("Restart=always"));
    }
}
