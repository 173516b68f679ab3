//! `opcp-cred projects`: the projects a profile's user may get tokens for, the current one
//! marked: the project this shell's `OS_PROJECT_ID` names when `env` exported it for this
//! profile, else the profile's configured project.

use std::fmt::Write as _;

use opcp_cred_proto::messages::{ProfileList, ProjectList, ProjectSelector};
use opcp_cred_proto::routes;

use super::{printable, profile_name, write_stdout};
use crate::cli::{PROFILE_ENV, ProjectsArgs};
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
    let profiles: ProfileList = daemon.get(routes::PROFILES).await?;
    let configured = profiles
        .profiles
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.config.project());
    let in_shell = std::env::var(PROFILE_ENV)
        .is_ok_and(|p| p == name)
        .then(|| std::env::var("OS_PROJECT_ID").ok())
        .flatten()
        .filter(|id| !id.is_empty())
        .map(|id| ProjectSelector::Id { id });
    write_stdout(&table(&list, in_shell.or(configured).as_ref()))
}

/// Columns ID, NAME and DOMAIN (its id: Keystone names no domain here), sorted by name; `*`
/// marks `current`.
fn table(list: &ProjectList, current: Option<&ProjectSelector>) -> String {
    if list.projects.is_empty() {
        return format!(
            "profile {}: the user may not scope to any project\n",
            list.profile
        );
    }
    let mut projects: Vec<_> = list.projects.iter().collect();
    projects.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let id_width = projects
        .iter()
        .map(|p| p.id.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let name_width = projects
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = format!("  {:id_width$}  {:name_width$}  DOMAIN\n", "ID", "NAME");
    for project in projects {
        let mark = if current.is_some_and(|c| project.matches(c)) {
            '*'
        } else {
            ' '
        };
        let domain = project.domain_id.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "{mark} {:id_width$}  {:name_width$}  {}",
            printable(&project.id),
            printable(&project.name),
            printable(domain)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use opcp_cred_proto::messages::Project;

    use super::*;

    fn project(id: &str, name: &str) -> Project {
        Project {
            id: id.into(),
            name: name.into(),
            domain_id: Some("default".into()),
        }
    }

    #[test]
    fn aligned_sorted_by_name_and_the_current_one_marked() {
        let list = ProjectList {
            profile: "pod".into(),
            projects: vec![project("0123abcdef", "web"), project("99", "db")],
        };
        let current = ProjectSelector::Id {
            id: "0123abcdef".into(),
        };
        assert_eq!(
            table(&list, Some(&current)),
            "  ID          NAME  DOMAIN\n  \
             99          db    default\n\
             * 0123abcdef  web   default\n"
        );
        let by_name = ProjectSelector::Name {
            name: "db".into(),
            domain_name: "Default".into(),
        };
        assert!(table(&list, Some(&by_name)).contains("* 99 "));
        assert!(!table(&list, None).contains('*'));
    }

    #[test]
    fn no_project_says_so() {
        let empty = ProjectList {
            profile: "pod".into(),
            projects: vec![],
        };
        assert!(table(&empty, None).contains("may not scope to any project"));
    }
}
