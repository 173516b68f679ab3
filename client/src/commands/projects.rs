//! `opcp-cred projects`: the projects a profile's user may get tokens for.

use std::fmt::Write as _;

use opcp_cred_proto::messages::ProjectList;
use opcp_cred_proto::routes;

use super::{printable, profile_name, write_stdout};
use crate::cli::ProjectsArgs;
use crate::daemon::Daemon;

pub async fn run(args: &ProjectsArgs) -> anyhow::Result<()> {
    let mut daemon = Daemon::connect().await?;
    let name = profile_name(&mut daemon, &args.profile).await?;
    let route = routes::profile_projects(&name);
    if args.json {
        let raw = daemon.get_raw(&route).await?;
        return write_stdout(&format!("{}\n", String::from_utf8_lossy(&raw).trim_end()));
    }
    let list: ProjectList = daemon.get(&route).await?;
    write_stdout(&table(&list))
}

/// Two aligned columns, ID and NAME, sorted by name.
fn table(list: &ProjectList) -> String {
    if list.projects.is_empty() {
        return format!(
            "profile {}: the user may not scope to any project\n",
            list.profile
        );
    }
    let mut projects: Vec<_> = list.projects.iter().collect();
    projects.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let width = projects
        .iter()
        .map(|p| p.id.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let mut out = format!("{:width$}  NAME\n", "ID");
    for project in projects {
        let _ = writeln!(
            out,
            "{:width$}  {}",
            printable(&project.id),
            printable(&project.name)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use opcp_cred_proto::messages::Project;

    use super::*;

    #[test]
    fn aligned_and_sorted_by_name() {
        let project = |id: &str, name: &str| Project {
            id: id.into(),
            name: name.into(),
            domain_id: None,
        };
        let list = ProjectList {
            profile: "pod".into(),
            projects: vec![project("0123abcdef", "web"), project("99", "db")],
        };
        assert_eq!(
            table(&list),
            "ID          NAME\n99          db\n0123abcdef  web\n"
        );
        let empty = ProjectList {
            profile: "pod".into(),
            projects: vec![],
        };
        assert!(table(&empty).contains("may not scope to any project"));
    }
}
