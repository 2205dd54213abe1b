//! Content roots: the folders whose playlists the control API may switch to (design §13).
//!
//! A requested path is refused with 403 when it has a `..` component, or when the file it
//! names, with every symbolic link resolved, is not inside one of the roots (also resolved).
//! Relative paths are looked up in each root in order.

use std::path::{Component, Path, PathBuf};

/// Why a path is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// Outside every content root (403).
    Forbidden(String),
    /// No such file under the roots (404).
    NotFound(String),
    /// Not a usable path (400).
    Bad(String),
}

/// The content roots, each resolved (canonical) once at start.
#[derive(Debug, Clone, Default)]
pub struct ContentRoots {
    roots: Vec<PathBuf>,
}

impl ContentRoots {
    /// Resolve `dirs`; a folder that does not exist is an error naming it.
    pub fn new(dirs: &[PathBuf]) -> Result<ContentRoots, String> {
        let mut roots = Vec::new();
        for d in dirs {
            let c = d
                .canonicalize()
                .map_err(|e| format!("content root {}: {e}", d.display()))?;
            if !c.is_dir() {
                return Err(format!("content root {}: not a folder", d.display()));
            }
            if !roots.contains(&c) {
                roots.push(c);
            }
        }
        Ok(ContentRoots { roots })
    }

    /// The resolved roots.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The file `requested` names, resolved, when it lies inside a root.
    pub fn resolve(&self, requested: &str) -> Result<PathBuf, PathError> {
        if requested.trim().is_empty() {
            return Err(PathError::Bad("empty path".into()));
        }
        if requested.contains('\0') {
            return Err(PathError::Bad("the path contains a NUL byte".into()));
        }
        let p = Path::new(requested);
        if p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(PathError::Forbidden(format!(
                "{requested}: \"..\" is not allowed; give a path inside a content root"
            )));
        }
        let candidates: Vec<PathBuf> = if p.is_absolute() {
            vec![p.to_path_buf()]
        } else {
            self.roots.iter().map(|r| r.join(p)).collect()
        };
        let mut outside = false;
        for c in candidates {
            let Ok(real) = c.canonicalize() else { continue };
            if self.roots.iter().any(|r| real.starts_with(r)) {
                if real.is_file() {
                    return Ok(real);
                }
                return Err(PathError::Bad(format!("{requested}: not a file")));
            }
            outside = true;
        }
        if outside {
            Err(PathError::Forbidden(format!(
                "{requested} is outside the content roots"
            )))
        } else if p.is_absolute() && !self.roots.iter().any(|r| p.starts_with(r)) {
            // Do not tell whether a file exists outside the roots.
            Err(PathError::Forbidden(format!(
                "{requested} is outside the content roots"
            )))
        } else {
            Err(PathError::NotFound(format!(
                "{requested}: no such file in the content roots"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("show");
        let other = dir.path().join("secret");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(root.join("a.toml"), "").unwrap();
        std::fs::write(root.join("sub/b.toml"), "").unwrap();
        std::fs::write(other.join("c.toml"), "").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(other.join("c.toml"), root.join("link.toml")).unwrap();
            std::os::unix::fs::symlink(&other, root.join("dirlink")).unwrap();
        }
        let roots = ContentRoots::new(std::slice::from_ref(&root)).unwrap();
        let real = root.canonicalize().unwrap();
        assert_eq!(roots.resolve("a.toml"), Ok(real.join("a.toml")));
        assert_eq!(roots.resolve("sub/b.toml"), Ok(real.join("sub/b.toml")));
        let abs = real.join("a.toml").display().to_string();
        assert_eq!(roots.resolve(&abs), Ok(real.join("a.toml")));
        let forbidden = |r: Result<PathBuf, PathError>| matches!(r, Err(PathError::Forbidden(_)));
        assert!(forbidden(roots.resolve("../secret/c.toml")));
        assert!(forbidden(roots.resolve("sub/../a.toml")));
        assert!(forbidden(
            roots.resolve(&other.join("c.toml").display().to_string())
        ));
        assert!(forbidden(roots.resolve("/etc/passwd")));
        assert!(forbidden(roots.resolve("/nonexistent/x.toml")));
        #[cfg(unix)]
        {
            assert!(forbidden(roots.resolve("link.toml")));
            assert!(forbidden(roots.resolve("dirlink/c.toml")));
        }
        assert!(matches!(
            roots.resolve("missing.toml"),
            Err(PathError::NotFound(_))
        ));
        assert!(matches!(roots.resolve("sub"), Err(PathError::Bad(_))));
        assert!(matches!(roots.resolve(""), Err(PathError::Bad(_))));
        assert!(ContentRoots::new(&[dir.path().join("nope")]).is_err());
    }
}
