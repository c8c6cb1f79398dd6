//! File writes that never leave a half-written file behind, and survive a power cut.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` through a uniquely named temporary file in the same folder, flushed
/// to disk and renamed into place; then the folder itself is flushed so the rename is durable.
/// A crash, a kill or a full disk in the middle leaves either the old file or the new one, never
/// a torn one, and no temporary file behind (tempfile removes it on any error). The file gets
/// the permissions a plain create gives (0666 less the umask), not the temporary file's 0600:
/// translations written into a shared folder must be readable by the others who share it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_through_temporary(path, bytes, Replace::Yes).map(|_| ())
}

/// As [`write_atomic`], but never replaces a file: returns `false`, writing nothing, when `path`
/// exists (also when it appears meanwhile: the rename itself refuses to replace).
pub fn write_atomic_new(path: &Path, bytes: &[u8]) -> Result<bool> {
    write_through_temporary(path, bytes, Replace::No)
}

/// Writes `image` to `path` atomically, in the format its extension names (PNG, JPEG, ...).
pub fn save_image_atomic(path: &Path, image: &image::DynamicImage) -> Result<()> {
    let format = image::ImageFormat::from_path(path).map_err(|err| Error::Image {
        path: path.to_path_buf(),
        reason: format!("cannot tell the image format from the name: {err}"),
    })?;
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .map_err(|err| Error::Image {
            path: path.to_path_buf(),
            reason: format!("could not encode: {err}"),
        })?;
    write_atomic(path, &bytes)
}

/// Whether a write may replace an existing file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replace {
    Yes,
    No,
}

/// Returns whether the file was written (`false`: it existed and `replace` was `No`).
fn write_through_temporary(path: &Path, bytes: &[u8], replace: Replace) -> Result<bool> {
    let folder = parent_folder(path);
    let result = (|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".write-").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Like `File::create`: the kernel applies the umask to this mode.
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut file = builder.tempfile_in(folder)?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        match replace {
            Replace::Yes => file.persist(path).map(|_| ()),
            Replace::No => file.persist_noclobber(path).map(|_| ()),
        }
        .map_err(|err| err.error)?;
        sync_folder(folder)
    })();
    match result {
        Ok(()) => Ok(true),
        Err(err) if replace == Replace::No && err.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(false)
        }
        Err(err) => Err(Error::io(path, without_temporary_path(err))),
    }
}

/// The operating system's error inside one of `tempfile`'s, whose text adds ` at path "…"` with
/// the temporary name: the user is told about the file they know (`Error::io` names it). The
/// inner error is private to `tempfile`, so its suffix is cut from the text.
pub fn without_temporary_path(err: std::io::Error) -> std::io::Error {
    let text = err.to_string();
    match text.split_once(" at path \"") {
        Some((reason, _)) => std::io::Error::new(err.kind(), reason.to_string()),
        None => err,
    }
}

/// Flushes a folder's entries (a rename into it, a new file) to disk. Without it a power cut
/// after a rename can bring back the old name on some filesystems. Platforms where a folder
/// cannot be opened (Windows) keep their own guarantees.
pub fn sync_folder(folder: &Path) -> std::io::Result<()> {
    if cfg!(unix) {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// The folder of `path` (the current one for a bare file name).
fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = std::env::temp_dir().join(format!("p2p-fs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("weights.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_readable_like_created_ones_not_private_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("p2p-fs-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (atomic, plain) = (dir.join("atomic.png"), dir.join("plain.png"));
        write_atomic(&atomic, b"x").unwrap();
        std::fs::write(&plain, b"x").unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_file_never_replaces_one() {
        let dir = std::env::temp_dir().join(format!("p2p-fs-new-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sketch.png");
        assert!(write_atomic_new(&path, b"first").unwrap());
        assert!(!write_atomic_new(&path, b"second").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_the_file_when_the_folder_is_missing() {
        let path = std::env::temp_dir().join("p2p-no-such-dir/x/weights.bin");
        let err = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(err.contains("weights.bin"), "{err}");
    }
}
