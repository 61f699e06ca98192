//! `vigil content`: check an override tree before it is put in place, and show the content a
//! server has in force.

use crate::cli::ApiOpts;
use anyhow::{bail, Result};
use clap::Subcommand;
use std::path::PathBuf;
use vigil_content::{load, Content};

#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Check a content tree (files at the paths of the shipped content/, such as
    /// rules/assets.toml) the way the server will when it finds it under DATA/content.
    Check {
        /// The tree to check.
        #[arg(default_value = "./vigil-data/content")]
        dir: PathBuf,
    },
    /// The content the server has in force: its version, each file's origin (embedded or
    /// override) and digest, and the last override it refused.
    Status {
        #[command(flatten)]
        api: ApiOpts,
    },
    /// Print a shipped content file, to copy under DATA/content and edit.
    Show {
        /// A path such as rules/assets.toml; without one, the list of files.
        path: Option<String>,
    },
}

pub async fn run(cmd: ContentCommand) -> Result<()> {
    match cmd {
        ContentCommand::Check { dir } => {
            let content = load::read_tree(&dir)
                .and_then(|files| Content::build(&files))
                .map_err(|e| anyhow::anyhow!("{}: {}", dir.join(&e.file).display(), e.message))?;
            for f in &content.files {
                println!("{:<9} {}", f.origin.as_str(), f.path);
            }
            println!(
                "{}: content {} is valid ({} of {} files overridden)",
                dir.display(),
                content.version,
                content.overridden(),
                content.files.len()
            );
            Ok(())
        }
        ContentCommand::Status { api } => {
            let s = crate::client::connect(&api)?.content().await?;
            if api.json {
                println!("{}", serde_json::to_string(&s)?);
                return Ok(());
            }
            println!("content {} (overrides from {})", s.version, s.override_dir);
            let rows: Vec<Vec<String>> = s
                .files
                .iter()
                .map(|f| vec![f.path.clone(), f.origin.clone(), f.sha256[..12].to_string()])
                .collect();
            crate::output::table(&["FILE", "ORIGIN", "SHA-256"], &rows);
            if let Some(r) = s.rejected {
                println!(
                    "refused: {}: {} (the content above stays in force)",
                    r.file, r.message
                );
            }
            Ok(())
        }
        ContentCommand::Show { path: None } => {
            for (p, _) in vigil_content::EMBEDDED {
                println!("{p}");
            }
            Ok(())
        }
        ContentCommand::Show { path: Some(p) } => {
            match vigil_content::EMBEDDED.iter().find(|(name, _)| *name == p) {
                Some((_, text)) => print!("{text}"),
                None => bail!("{p} is not a content file; `vigil content show` lists them"),
            }
            Ok(())
        }
    }
}
